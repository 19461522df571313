// Helpers for the API tests: start a real embedded exchange on an ephemeral loopback port
// with a temporary data directory, and a small Binance-style signing client over fetch.
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { startEmbedded, type EmbeddedExchange } from '../../src/main.ts';

export const demoKeys = {
  apiKey: 'testDemoKeyOne000000000000000000',
  secret: 'testDemoSecretOne000000000000000',
  apiKey2: 'testDemoKeyTwo000000000000000000',
  secret2: 'testDemoSecretTwo000000000000000',
};
export const adminToken = 'test-admin-token-0123456789';

export interface TestExchange {
  exchange: EmbeddedExchange;
  url: string;
  dataDirectory: string;
  stop(): Promise<void>;
}

export async function startTestExchange(environment: Record<string, string> = {}): Promise<TestExchange> {
  // The cluster test (test/cluster/e2e-nginx.test.ts) runs this file against a cluster.
  if (process.env.BOURSE_TEST_TARGET === 'cluster') {
    const target = await (await import('../cluster/target.ts')).clusterTarget();
    return { exchange: target as unknown as EmbeddedExchange, url: target.url, dataDirectory: '', stop: () => target.stop() };
  }
  const dataDirectory = await mkdtemp(join(tmpdir(), 'bourse-api-test-'));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    BOURSE_DATA_DIR: dataDirectory,
    BOURSE_ADMIN_TOKEN: adminToken,
    BOURSE_DEMO_API_KEY: demoKeys.apiKey,
    BOURSE_DEMO_API_SECRET: demoKeys.secret,
    BOURSE_DEMO2_API_KEY: demoKeys.apiKey2,
    BOURSE_DEMO2_API_SECRET: demoKeys.secret2,
    BOURSE_WEIGHT_PER_MINUTE: '1000000',
    BOURSE_ORDERS_PER_10S: '100000',
    ...environment,
  });
  const exchange = await startEmbedded(config, { webUi: false });
  return {
    exchange,
    url: exchange.url,
    dataDirectory,
    async stop() {
      await exchange.close();
      await rm(dataDirectory, { recursive: true, force: true });
    },
  };
}

export function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

export interface ApiAnswer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

/** A minimal Binance client: signs exactly like Binance documents (query string + body). */
export class ApiClient {
  constructor(
    readonly url: string,
    readonly apiKey: string,
    readonly secret: string,
  ) {}

  async raw(method: string, path: string, init: { query?: string; body?: string; headers?: Record<string, string> } = {}): Promise<ApiAnswer> {
    const target = `${this.url}${path}${init.query ? `?${init.query}` : ''}`;
    const response = await fetch(target, {
      method,
      headers: { 'X-MBX-APIKEY': this.apiKey, ...(init.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...init.headers },
      body: init.body,
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    return { status: response.status, body, headers: response.headers };
  }

  /** A signed request with every parameter in the query string (as @binance/connector sends them). */
  async signed(method: string, path: string, params: Record<string, string | number> = {}, options: { inBody?: boolean; timestamp?: number } = {}): Promise<ApiAnswer> {
    const payload = new URLSearchParams({ ...Object.fromEntries(Object.entries(params).map(([key, value]) => [key, String(value)])), timestamp: String(options.timestamp ?? Date.now()) }).toString();
    const signed = `${payload}&signature=${sign(this.secret, payload)}`;
    return options.inBody ? this.raw(method, path, { body: signed }) : this.raw(method, path, { query: signed });
  }

  async public(path: string, query = ''): Promise<ApiAnswer> {
    return this.raw('GET', path, { query });
  }

  async admin(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const response = await fetch(`${this.url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  }
}
