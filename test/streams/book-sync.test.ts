// The reference book-sync client (src/client/book-sync.ts) against the real embedded
// exchange: over real HTTP and WebSocket it keeps a book equal to the engine's through
// 10,000 random commands, on both `@depth` and `@depth@100ms`. Also the client's own rule
// checks (ignore old events, detect gaps).

import { test } from 'node:test';
import assert from 'node:assert/strict';
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
      console.log(`client: ${client.eventsApplied} events applied, ${client.resyncs} resyncs`);
      await client.waitForUpdateId(engine.updateId, 20_000);
      assert.equal(client.error(), null);
      assert.equal(client.book.updateId, engine.updateId);
      assert.ok(client.eventsApplied > 20, `events applied: ${client.eventsApplied}`);
      assert.deepEqual(client.book.levels('bids'), expectedBids);
      assert.deepEqual(client.book.levels('asks'), expectedAsks);
    }
  } finally {
    for (const client of clients) client.close();
    await exchange.stop();
  }
});
