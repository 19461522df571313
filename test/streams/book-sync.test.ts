// The reference book-sync client (src/client/book-sync.ts) against the real embedded
// exchange: over real HTTP and WebSocket it keeps a book equal to the engine's through
// 10,000 random commands, on both `@depth` and `@depth@100ms`. Also the client's own rule
// checks (ignore old events, detect gaps).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { BookSync, LocalOrderBook, compareDecimal } from '../../src/client/book-sync.ts';
import { SeededRandom } from '../../src/lib/prng.ts';
import { cancelOrder, placeOrder } from '../../src/domain/command.ts';
import { OrderType, Side, TimeInForce } from '../../src/domain/codes.ts';
import { formatPrice, formatQuantity, marketFormatFromAssets, parsePriceTicks } from '../../src/domain/market-format.ts';
import { startExchange } from './embedded.ts';

test('the local book ignores stale events, applies absolute levels and reports gaps', () => {
  const book = new LocalOrderBook();
  book.reset({ lastUpdateId: 10, bids: [['1.00', '5']], asks: [['2.00', '1']] });
  assert.equal(book.apply({ e: 'depthUpdate', E: 0, s: 'X', U: 5, u: 10, b: [['1.00', '0']], a: [] }), 'ignored');
  assert.equal(book.apply({ e: 'depthUpdate', E: 0, s: 'X', U: 9, u: 12, b: [['1.00', '0'], ['0.90', '3']], a: [['3.00', '0']] }), 'applied');
  assert.deepEqual(book.levels('bids'), [['0.90', '3']]);
  assert.deepEqual(book.levels('asks'), [['2.00', '1']]);
  assert.equal(book.apply({ e: 'depthUpdate', E: 0, s: 'X', U: 14, u: 15, b: [], a: [] }), 'gap');
  assert.equal(book.updateId, 12);
  assert.ok(compareDecimal('10.5', '9.75') > 0 && compareDecimal('0.010', '0.01') === 0 && compareDecimal('1.2', '1.21') < 0);
});

test('book-sync clients equal the engine book after 10,000 random commands', { timeout: 180_000 }, async () => {
  const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
  console.log(`seed ${seed} (TEST_SEED=${seed} reproduces the command stream)`);
  const random = new SeededRandom(seed);
  const exchange = await startExchange();
  const clients: BookSync[] = [];
  try {
    const market = exchange.host.marketBySymbol('BTCUSDT')!;
    const format = marketFormatFromAssets(market.spec, exchange.host.assets());
    const midTicks = (parsePriceTicks(format, '65000') as { ok: true; value: number }).value;
    const accounts = exchange.demoUsers.map((user) => user.userId);
    assert.equal(accounts.length, 2);
    for (const stream of ['depth', 'depth@100ms'] as const) {
      const client = new BookSync({ restUrl: exchange.url, streamUrl: exchange.wsUrl, symbol: 'BTCUSDT', stream });
      clients.push(client);
    }
    const open: { orderId: number; accountId: number }[] = [];
    const place = (command: ReturnType<typeof placeOrder>) => exchange.host.submit(command).then((result) => {
      const accepted = result.events.find((event) => event.type === 'OrderAccepted');
      if (accepted && !result.events.some((event) => event.type === 'OrderFilled' && event.orderId === accepted.orderId)) {
        open.push({ orderId: accepted.orderId as number, accountId: accepted.accountId as number });
      }
    });
    // A first book, then the clients start while commands keep flowing.
    let started: Promise<void> | null = null;
    const commandsTotal = 10_000;
    const concurrency = 250;
    let pending: Promise<unknown>[] = [];
    for (let index = 0; index < commandsTotal; index++) {
      if (index === 500) started = Promise.all(clients.map((client) => client.start())).then(() => undefined);
      const accountId = random.pick(accounts);
      const roll = random.next();
      if (roll < 0.55 || open.length === 0) {
        const side = random.chance(0.5) ? Side.Buy : Side.Sell;
        // Mostly passive quotes around the mid; one in ten crosses the spread and trades.
        const distance = random.chance(0.1) ? -random.integer(0, 5) : random.integer(1, 60);
        const priceTicks = midTicks + (side === Side.Buy ? -distance : distance) * 100;
        pending.push(place(placeOrder({
          accountId, marketId: market.marketId, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC,
          priceTicks, quantityLots: random.integer(1, 5),
        })));
      } else if (roll < 0.8) {
        const target = open.splice(random.integer(0, open.length - 1), 1)[0]!;
        pending.push(exchange.host.submit(cancelOrder(target.accountId, market.marketId, target.orderId)));
      } else {
        pending.push(exchange.host.submit(placeOrder({
          accountId, marketId: market.marketId, side: random.chance(0.5) ? Side.Buy : Side.Sell, orderType: OrderType.Market,
          quantityLots: random.integer(1, 8),
        })));
      }
      if (pending.length >= concurrency) {
        await Promise.all(pending);
        pending = [];
      }
    }
    await Promise.all(pending);
    await started;
    const engine = exchange.host.depth(market.marketId, 5000);
    assert.ok(engine.bids.length > 5 && engine.asks.length > 5, 'the random commands leave a book on both sides');
    const expectedBids = engine.bids.map(([price, quantity]) => [formatPrice(format, price), formatQuantity(format, quantity)]);
    const expectedAsks = engine.asks.map(([price, quantity]) => [formatPrice(format, price), formatQuantity(format, quantity)]);
    for (const client of clients) {
      await client.waitForUpdateId(engine.updateId, 20_000);
      assert.equal(client.error(), null);
      assert.equal(client.book.updateId, engine.updateId);
      console.log(`client: snapshot at ${client.snapshotUpdateId}, ${client.eventsApplied} diffs up to ${engine.updateId}, ${client.resyncs} resyncs`);
      // The book reached the engine through diffs, not through a late snapshot.
      assert.ok(client.eventsApplied > 0 && engine.updateId - client.snapshotUpdateId > 1000,
        `snapshot at ${client.snapshotUpdateId}, engine at ${engine.updateId}, ${client.eventsApplied} diffs`);
      assert.deepEqual(client.book.levels('bids'), expectedBids);
      assert.deepEqual(client.book.levels('asks'), expectedAsks);
    }
  } finally {
    for (const client of clients) client.close();
    await exchange.stop();
  }
});

test('book-sync refetches a snapshot older than its buffer and resyncs after a gap', { timeout: 20_000 }, async () => {
  // A scripted server: diffs come from the test, snapshots from a queue.
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const sockets: WebSocket[] = [];
  server.on('connection', (socket) => sockets.push(socket));
  const snapshots = [
    { lastUpdateId: 5, bids: [['1.00', '1']], asks: [] }, // older than the first buffered U (10): refetched
    { lastUpdateId: 10, bids: [['1.00', '2']], asks: [['2.00', '1']] },
    { lastUpdateId: 30, bids: [['1.50', '4']], asks: [['2.00', '3']] }, // after the gap
  ];
  let fetches = 0;
  const fetchImplementation = (async () => {
    const snapshot = snapshots[Math.min(fetches, snapshots.length - 1)];
    fetches += 1;
    return new Response(JSON.stringify(snapshot), { status: 200 });
  }) as typeof fetch;
  const client = new BookSync({
    restUrl: 'http://unused', streamUrl: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, symbol: 'TEST', fetchImplementation,
  });
  const diff = (U: number, u: number, b: [string, string][], a: [string, string][] = []) =>
    JSON.stringify({ e: 'depthUpdate', E: 0, s: 'TEST', U, u, b, a });
  try {
    const started = client.start();
    while (sockets.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    sockets[0]!.send(diff(10, 11, [['1.00', '3']]));
    await started;
    assert.equal(fetches, 2, 'the first snapshot (5) was older than the first U (10)');
    assert.deepEqual(client.book.levels('bids'), [['1.00', '3']]);
    assert.equal(client.book.updateId, 11);
    sockets[0]!.send(diff(12, 12, [['0.90', '1']]));
    await client.waitForUpdateId(12);
    // Updates 13..19 are lost: the next diff starts at 20, so the client must resync.
    sockets[0]!.send(diff(20, 25, [['1.20', '1']]));
    sockets[0]!.send(diff(26, 31, [['1.50', '5']], [['2.00', '0']]));
    await client.waitForUpdateId(31);
    assert.equal(client.resyncs, 1);
    assert.equal(client.snapshotUpdateId, 30);
    assert.deepEqual(client.book.levels('bids'), [['1.50', '5']]);
    assert.deepEqual(client.book.levels('asks'), []);
  } finally {
    client.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
