// Shared by the browser tests and the UI benchmark: start a real embedded exchange
// (src/main.ts as a child process, temporary data directory, ephemeral port; stopped by
// PID), make sure web/dist is built, and launch Debian's Chromium through playwright-core.
// Under CI=true a missing Chromium is a failure, never a skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { ensureWebBuilt } from '../../src/services/gateway/web/build-ui.ts';

export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
export const screenshotDirectory = join(repositoryRoot, 'test-results');
/** How long the server may take to print its banner (first start builds nothing: dist is built before). */
export const serverStartMsMax = 60_000;

/** Fails loudly when Chromium is missing: the tests need a real browser, never a skip. */
export function requireChromium(): void {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium not found at ${chromiumPath}. Install it with \`apt-get update && apt-get install -y chromium\` (.ci/run does) or set CHROMIUM_PATH.`,
    );
  }
}

export async function launchChromium(): Promise<Browser> {
  requireChromium();
  // launch() gives every run a fresh temporary profile (user-data-dir) of its own.
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
}

export interface StartedServer {
  url: string;
  adminToken: string;
  process: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export async function startServer(environment: Record<string, string> = {}): Promise<StartedServer> {
  await ensureWebBuilt();
  const dataDirectory = mkdtempSync(join(tmpdir(), 'bourse-web-test-'));
  const adminToken = `web-test-admin-${process.pid}-${Date.now()}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repositoryRoot,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      BOURSE_DATA_DIR: join(dataDirectory, 'data'),
      BOURSE_ADMIN_TOKEN: adminToken,
      LOG_LEVEL: 'warn',
      BOURSE_SIMULATE: 'false',
      ...environment,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDirectory, { recursive: true, force: true });
  };
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${serverStartMsMax} ms:\n${output}`)), serverStartMsMax);
    const check = (): void => {
      const match = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { url, adminToken, process: child, output: () => output, stop };
}

/** Console errors and uncaught page errors, minus the browser's own log line for an HTTP error status (asserted separately). */
export function watchConsole(page: Page, label: string): string[] {
  const errors: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    errors.push(`${label}: ${text}`);
  });
  page.on('pageerror', (error) => errors.push(`${label}: uncaught ${error.message}`));
  return errors;
}

export function screenshotPath(name: string): string {
  mkdirSync(screenshotDirectory, { recursive: true });
  return join(screenshotDirectory, `${name}.png`);
}
