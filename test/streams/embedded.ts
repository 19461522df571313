// Starts the real embedded exchange (src/main.ts) on a free loopback port with a fresh
// data directory, and a WebSocket helper that queues messages so tests can await them.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.ts';
import { startEmbedded, type EmbeddedExchange } from '../../src/main.ts';

export interface RunningExchange extends EmbeddedExchange {
  wsUrl: string;
  stop(): Promise<void>;
}

export async function startExchange(environment: Record<string, string> = {}): Promise<RunningExchange> {
  // The cluster test (test/cluster/e2e-nginx.test.ts) runs this file against a cluster.
  if (process.env.BOURSE_TEST_TARGET === 'cluster') return (await (await import('../cluster/target.ts')).clusterTarget()) as unknown as RunningExchange;
  const directory = await mkdtemp(join(tmpdir(), 'bourse-streams-'));
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', BOURSE_DATA_DIR: directory, LOG_LEVEL: 'silent', BOURSE_SEED_DEMO: 'true', ...environment });
  const exchange = await startEmbedded(config, { webUi: false });
  return {
    ...exchange,
    wsUrl: exchange.url.replace(/^http/, 'ws'),
    async stop() {
      await exchange.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A client socket whose messages queue up until read; also records how it closed. */
export class TestSocket {
  readonly socket: WebSocket;
  private readonly queue: unknown[] = [];
  private waiting: ((message: unknown) => void) | null = null;
  private waitingFailed: ((error: Error) => void) | null = null;
  private isClosed = false;
  closeCode: number | null = null;
  closeReason = '';
  readonly closed: Promise<void>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = null;
        resolve(message);
      } else {
        this.queue.push(message);
      }
    });
    this.closed = new Promise((resolve) => {
      this.socket.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.isClosed = true;
        const failed = this.waitingFailed;
        this.waiting = null;
        this.waitingFailed = null;
        failed?.(new Error(`socket closed (${code})`));
        resolve();
      });
    });
    this.socket.on('error', () => undefined);
  }

  opened(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
      this.socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  next(timeoutMs = 5000): Promise<unknown> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.isClosed) return Promise.reject(new Error(`socket closed (${this.closeCode})`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        this.waitingFailed = null;
        reject(new Error('no message in time'));
      }, timeoutMs);
      this.waiting = (message) => {
        clearTimeout(timer);
        this.waitingFailed = null;
        resolve(message);
      };
      this.waitingFailed = (error) => {
        clearTimeout(timer);
        reject(error);
      };
    });
  }

  /** The next message that satisfies `match`, skipping others. */
  async nextMatching(match: (message: Record<string, unknown>) => boolean, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error('no matching message in time');
      const message = (await this.next(remaining)) as Record<string, unknown>;
      if (match(message)) return message;
    }
  }

  close(): void {
    this.socket.close();
  }
}
