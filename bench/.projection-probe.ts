// Temporary probe (not committed): drives the embedded exchange's engine host directly
// and measures how much CPU the PGlite thread spends per order until it has caught up.
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { startEmbedded } from '../src/main.ts';
import { WorkerPgliteDatabase } from '../src/adapters/pglite-worker.ts';
import { placeOrder } from '../src/domain/command.ts';
import { OrderType, Side, TimeInForce } from '../src/domain/codes.ts';

function threads(): Map<number, number> {
  const m = new Map<number, number>();
  for (const t of readdirSync('/proc/self/task')) {
    const text = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    m.set(Number(t), (Number(f[11]) + Number(f[12])) / 100);
  }
  return m;
}
const stats = { transactions: 0, queries: 0, busyMs: 0 };
const proto = WorkerPgliteDatabase.prototype as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
const originalTransaction = proto.transaction!;
proto.transaction = async function (this: unknown, ...args: unknown[]) { stats.transactions++; const t = performance.now(); try { return await originalTransaction.apply(this, args); } finally { stats.busyMs += performance.now() - t; } };
const originalCall = proto.call!;
const byStatement = new Map<string, number>();
proto.call = async function (this: unknown, ...args: unknown[]) {
  stats.queries++;
  const request = args[0] as { op: string; text?: string };
  const key = request.op + ' ' + (request.text ?? '').replace(/\s+/g, ' ').slice(0, 70);
  const t = performance.now();
  try { return await originalCall.apply(this, args); } finally { byStatement.set(key, (byStatement.get(key) ?? 0) + performance.now() - t); }
};
const orders = Number(process.argv[2] ?? 20000);
const dir = await mkdtemp(join(tmpdir(), 'probe-'));
const config = loadConfig({ BOURSE_DATA_DIR: dir, BOURSE_ADMIN_TOKEN: 'probe-admin-token-0123456789', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
const exchange = await startEmbedded(config, { webUi: false });
const { market, units } = exchange.gateway.tradingMarket('BTCUSDT');
const users = exchange.demoUsers;
const priceTicks = units.priceTicks('60000') as number;
const quantityLots = units.quantityLots('0.0001') as number;
await new Promise((r) => setTimeout(r, 1000));
const before = threads();
const t0 = performance.now(); Object.assign(stats, { transactions: 0, queries: 0, busyMs: 0 });
let next = 0;
const worker = async () => {
  while (next < orders) {
    const index = next++;
    const user = users[index % users.length]!;
    const side = Math.floor(index / users.length) % 2 === 0 ? Side.Buy : Side.Sell;
    const r = await exchange.host.submit(placeOrder({ accountId: user.userId, marketId: market.marketId, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks, quantityLots, clientOrderId: `p${index}` }));
    if (r.events[0]?.type !== 'OrderAccepted') throw new Error(JSON.stringify(r.events[0]));
  }
};
await Promise.all(Array.from({ length: 64 }, worker));
const t1 = performance.now();
const last = exchange.host.lastEventSequence();
while ((await exchange.gateway.deps.history.projectedEventSequence()) < last) await new Promise((r) => setTimeout(r, 50));
const t2 = performance.now();
const after = threads();
let busiest = 0; let total = 0;
for (const [tid, s] of after) { const d = s - (before.get(tid) ?? 0); total += d; if (tid !== process.pid) busiest = Math.max(busiest, d); }
const main = (after.get(process.pid) ?? 0) - (before.get(process.pid) ?? 0);
console.log(`${orders} orders, ${last} events: submit ${(t1 - t0).toFixed(0)} ms, projection caught up ${(t2 - t1).toFixed(0)} ms later; CPU per order: main ${(main * 1e6 / orders).toFixed(0)} us, busiest other ${(busiest * 1e6 / orders).toFixed(0)} us, total ${(total * 1e6 / orders).toFixed(0)} us`);
console.log(`transactions ${stats.transactions}, worker calls ${stats.queries}, transaction wall ms ${stats.busyMs.toFixed(0)}`);
for (const [k, v] of [...byStatement].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(v.toFixed(0).padStart(7), k);
await exchange.close();
await rm(dir, { recursive: true, force: true });
