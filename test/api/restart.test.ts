// Crash safety end to end: a real server process is killed with SIGKILL in the middle of a
// burst of concurrent orders and restarted on the same data directory. Every order that got
// a success answer must be there exactly once, the solvency report must balance, and the
// engine state (book included) must equal a fresh replay of the journal.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLog } from '../../src/adapters/file-log.ts';
import { decodeCommand } from '../../src/domain/codec.ts';
import { EventBuffer } from '../../src/domain/events.ts';
import { Engine } from '../../src/engine/engine.ts';
import { ApiClient, adminToken, demoKeys } from './support.ts';

const burstOrders = 400;
const burstConcurrency = 32;
const killAfterAcknowledged = 100;

/**
 * Starts the server on a port of its own choosing (PORT=0) and reads the URL from its
 * banner: picking a free port here and passing it down would race with other tests'
 * servers that bind port 0 meanwhile.
 */
async function startServer(dataDirectory: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnServer(dataDirectory);
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not print its URL: ${output}`)), 90_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${output}`));
    });
  });
  return { child, url };
}

function spawnServer(dataDirectory: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      NODE_TEST_CONTEXT: '',
      PORT: '0',
      HOST: '127.0.0.1',
      BOURSE_DATA_DIR: dataDirectory,
      BOURSE_ADMIN_TOKEN: adminToken,
      BOURSE_DEMO_API_KEY: demoKeys.apiKey,
      BOURSE_DEMO_API_SECRET: demoKeys.secret,
      BOURSE_DEMO2_API_KEY: demoKeys.apiKey2,
      BOURSE_DEMO2_API_SECRET: demoKeys.secret2,
      BOURSE_ORDERS_PER_10S: '1000000',
      BOURSE_WEIGHT_PER_MINUTE: '1000000',
      LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function waitUntilUp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/api/v3/ping`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('server did not start');
}

describe('SIGKILL in the middle of a burst, then restart', () => {
  const children: ChildProcess[] = [];
  let dataDirectory = '';
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dataDirectory) await rm(dataDirectory, { recursive: true, force: true });
  });

  test('every acknowledged order survives exactly once; solvency; state equals a replay', async () => {
    dataDirectory = await mkdtemp(join(tmpdir(), 'bourse-restart-test-'));
    const { child: first, url } = await startServer(dataDirectory);
    children.push(first);
    await waitUntilUp(url, first);
    const clients = [new ApiClient(url, demoKeys.apiKey, demoKeys.secret), new ApiClient(url, demoKeys.apiKey2, demoKeys.secret2)];

    // The burst: crossing buys and sells from two accounts, so orders rest, trade and move funds.
    const acknowledged = new Map<string, { orderId: number; client: number }>();
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (next < burstOrders) {
        const index = next++;
        const client = index % 2;
        const clientOrderId = `burst-${index}`;
        try {
          const answer = await clients[client]!.signed('POST', '/api/v3/order', {
            symbol: 'BTCUSDT', side: client === 0 ? 'BUY' : 'SELL', type: 'LIMIT', timeInForce: 'GTC',
            quantity: '0.001', price: String(60_000 + (index % 7) - 3), newClientOrderId: clientOrderId, newOrderRespType: 'ACK',
          });
          if (answer.status === 200) acknowledged.set(clientOrderId, { orderId: answer.body.orderId, client });
        } catch {
          // The connection died with the server: this order's fate is unknown, not acknowledged.
        }
        if (!killed && acknowledged.size >= killAfterAcknowledged) {
          killed = true;
          first.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: burstConcurrency }, worker));
    assert.ok(killed, 'the server was killed during the burst');
    await new Promise((resolve) => (first.exitCode !== null || first.signalCode !== null ? resolve(null) : first.once('exit', resolve)));
    assert.ok(acknowledged.size >= killAfterAcknowledged);

    // A port of its own again (the old one may be taken by now); new clients for it.
    const { child: second, url: secondUrl } = await startServer(dataDirectory);
    children.push(second);
    await waitUntilUp(secondUrl, second);
    clients.splice(0, 2, new ApiClient(secondUrl, demoKeys.apiKey, demoKeys.secret), new ApiClient(secondUrl, demoKeys.apiKey2, demoKeys.secret2));

    // Each acknowledged order is there, with the id it was acknowledged with.
    for (const [clientOrderId, { orderId, client }] of acknowledged) {
      const answer = await clients[client]!.signed('GET', '/api/v3/order', { symbol: 'BTCUSDT', origClientOrderId: clientOrderId });
      assert.equal(answer.status, 200, `${clientOrderId}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.orderId, orderId, clientOrderId);
    }
    // ... exactly once: no clientOrderId appears twice in either account's history.
    for (const client of clients) {
      const all = await client.signed('GET', '/api/v3/allOrders', { symbol: 'BTCUSDT', limit: 1000 });
      assert.equal(all.status, 200);
      const ids = (all.body as { clientOrderId: string }[]).map((order) => order.clientOrderId).filter((id) => id.startsWith('burst-'));
      assert.equal(new Set(ids).size, ids.length, 'no order was created twice');
    }
    const admin = clients[0]!;
    const solvency = await admin.admin('GET', '/solvency');
    assert.equal(solvency.body.balanced, true, JSON.stringify(solvency.body));
    for (const row of solvency.body.projection as { asset: string; balanced: boolean }[]) assert.equal(row.balanced, true, `projection ${row.asset}`);

    // The state after recovery equals a replay of the whole journal into a fresh engine.
    const state = (await admin.admin('GET', '/state')).body as { stateHash: string; lastCommandSequence: number };
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));
    assert.equal(second.exitCode, 0, 'graceful shutdown');
    const log = await FileLog.open(join(dataDirectory, 'commands'));
    const engine = new Engine();
    const out = new EventBuffer();
    for (let sequence = 1; ; ) {
      const records = await log.read(sequence, 1000);
      if (records.length === 0) break;
      for (const record of records) {
        const command = decodeCommand(record.payload);
        command.sequence = record.sequence;
        out.clear();
        engine.execute(command, out);
      }
      sequence = records[records.length - 1]!.sequence + 1;
    }
    await log.close();
    assert.equal(engine.counters().lastCommandSequence, state.lastCommandSequence);
    assert.equal(engine.stateHash(), state.stateHash);
  });
});
