// Starts the embedded exchange (`src/main.ts`) as a child process on a free port with a
// temporary data directory, for the operations tests and benchmarks; stop() kills it and
// removes the directory. Rate limits are raised so load measures the exchange, not the limiter.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long the server may take to print its banner (PGlite migrations on a busy machine). */
export const serverStartTimeoutMs = 90_000;

export interface StartedServer {
  url: string;
  port: number;
  adminToken: string;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * `nodeArguments` go to node before the script (e.g. `--cpu-prof` for a benchmark's profile);
 * `script` is what node runs (default: src/main.ts through tsx; a compiled build's main.js).
 */
export async function startEmbeddedServer(environment: Record<string, string> = {}, nodeArguments: string[] = [], script: string[] = ['--import', 'tsx', 'src/main.ts']): Promise<StartedServer> {
  const dataDirectory = mkdtempSync(join(tmpdir(), 'bourse-ops-'));
  const adminToken = 'ops-test-admin-token';
  const child = spawn(process.execPath, [...nodeArguments, ...script], {
    env: {
      ...process.env,
      NODE_TEST_CONTEXT: '',
      PORT: '0',
      HOST: '127.0.0.1',
      BOURSE_DATA_DIR: dataDirectory,
      BOURSE_ADMIN_TOKEN: adminToken,
      BOURSE_ORDERS_PER_10S: '100000000',
      BOURSE_ORDERS_PER_DAY: '1000000000',
      BOURSE_WEIGHT_PER_MINUTE: '1000000000',
      LOG_LEVEL: 'warn',
      ...environment,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDirectory, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`embedded server did not start in ${serverStartTimeoutMs} ms:\n${output}`)), serverStartTimeoutMs);
      const check = () => {
        const match = /Bourse is running at (http:\/\/[0-9.]+:[0-9]+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`embedded server exited with ${code}:\n${output}`));
      });
    });
    return { url, port: Number(new URL(url).port), adminToken, process: child, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
