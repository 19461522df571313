// CCXT's `binance` class, pointed at a real embedded exchange on a loopback port, runs the
// calls a trading bot makes: markets, book, trades, candles, tickers, orders, balances.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import ccxt from 'ccxt';
import { ApiClient, demoKeys, startTestExchange, type TestExchange } from './support.ts';

function pointedAt(url: string, apiKey: string, secret: string) {
  const exchange = new ccxt.binance({
    apiKey,
    secret,
    enableRateLimit: false,
    options: { fetchMarkets: ['spot'], fetchCurrencies: false, fetchMargins: false, defaultType: 'spot', adjustForTimeDifference: false, warnOnFetchOpenOrdersWithoutSymbol: false },
  });
  const api = exchange.urls.api as Record<string, string>;
  for (const name of Object.keys(api)) {
    const original = api[name]!;
    const path = new URL(original).pathname;
    api[name] = `${url}${path.startsWith('/api/') ? path.replace(/\/api\/v\d+$/, '/api/v3') : '/api/v3'}`;
  }
  return exchange;
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('CCXT binance against the embedded exchange', () => {
  let server: TestExchange;
  let alice: ReturnType<typeof pointedAt>;
  let bob: ReturnType<typeof pointedAt>;

  before(async () => {
    server = await startTestExchange();
    alice = pointedAt(server.url, demoKeys.apiKey, demoKeys.secret);
    bob = pointedAt(server.url, demoKeys.apiKey2, demoKeys.secret2);
  });
  after(async () => {
    await server.stop();
  });

  test('loadMarkets reads exchangeInfo with Binance filters', async () => {
    const markets = await alice.loadMarkets();
    const btc = markets['BTC/USDT']!;
    assert.equal(btc.id, 'BTCUSDT');
    assert.equal(btc.spot, true);
    assert.equal(btc.active, true);
    assert.equal(btc.precision.price, 0.01);
    assert.equal(btc.precision.amount, 0.0001);
    assert.equal(btc.limits.amount?.min, 0.0001);
    assert.equal(btc.limits.cost?.min, 5);
    assert.ok(markets['ETH/BTC'] && markets['ETH/USDT']);
  });

  test('orders, book, trades, candles, tickers, balances', async () => {
    await bob.loadMarkets();
    const before = await alice.fetchBalance();
    assert.equal((before.free as unknown as Record<string, number>).USDT, 1_000_000);
    assert.equal((before.free as unknown as Record<string, number>).BTC, 10);

    const limit = await alice.createOrder('BTC/USDT', 'limit', 'buy', 0.01, 60_000);
    assert.equal(limit.status, 'open');
    assert.equal(limit.amount, 0.01);
    assert.equal(limit.price, 60_000);
    const open = await alice.fetchOpenOrders('BTC/USDT');
    assert.deepEqual(open.map((order) => order.id), [limit.id]);
    const fetched = await alice.fetchOrder(limit.id!, 'BTC/USDT');
    assert.equal(fetched.status, 'open');
    assert.equal(fetched.clientOrderId, limit.clientOrderId);

    const market = await bob.createOrder('BTC/USDT', 'market', 'sell', 0.004);
    assert.equal(market.status, 'closed');
    assert.equal(market.filled, 0.004);
    assert.equal(market.average, 60_000);
    assert.equal(market.trades.length, 1);

    const book = await eventually(() => alice.fetchOrderBook('BTC/USDT'), (value) => value.bids.length === 1 && value.bids[0]![1] === 0.006, 'the book');
    assert.deepEqual(book.bids[0], [60_000, 0.006]);
    assert.deepEqual(book.asks, []);

    const trades = await eventually(() => alice.fetchTrades('BTC/USDT'), (value) => value.length === 1, 'the trade');
    assert.equal(trades[0]!.price, 60_000);
    assert.equal(trades[0]!.amount, 0.004);
    assert.equal(trades[0]!.side, 'sell');

    // The trade's candle carries it; a minute that began since then is an empty candle at
    // the previous close (so the test holds when the trade lands just before a minute ends).
    const tradeMinuteMs = Math.floor(trades[0]!.timestamp! / 60_000) * 60_000;
    const candles = await eventually(() => alice.fetchOHLCV('BTC/USDT', '1m'), (value) => value.some((candle) => candle[0] === tradeMinuteMs), 'a candle');
    const tradeCandle = candles.find((candle) => candle[0] === tradeMinuteMs)!;
    assert.equal(tradeCandle[4], 60_000);
    assert.equal(tradeCandle[5], 0.004);
    for (const later of candles.filter((candle) => candle[0]! > tradeMinuteMs)) assert.deepEqual(later.slice(1), [60_000, 60_000, 60_000, 60_000, 0]);

    const ticker = await eventually(() => alice.fetchTicker('BTC/USDT'), (value) => value.last === 60_000, 'the ticker');
    assert.equal(ticker.symbol, 'BTC/USDT');
    const tickers = await alice.fetchTickers();
    assert.ok(tickers['BTC/USDT'] && tickers['ETH/USDT'] && tickers['ETH/BTC']);

    const canceled = await alice.cancelOrder(limit.id!, 'BTC/USDT');
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.filled, 0.004);
    assert.deepEqual(await alice.fetchOpenOrders('BTC/USDT'), []);
    const closed = await alice.fetchOrder(limit.id!, 'BTC/USDT');
    assert.equal(closed.status, 'canceled');

    const mine = await alice.fetchMyTrades('BTC/USDT');
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.side, 'buy');
    assert.equal(mine[0]!.takerOrMaker, 'maker');
    assert.equal(mine[0]!.fee?.cost, 0.24);

    const after = await alice.fetchBalance();
    assert.equal((after.free as unknown as Record<string, number>).BTC, 10.004);
    assert.equal((after.used as unknown as Record<string, number>).USDT, 0);
    // 0.004 BTC at 60000 = 240 USDT plus the 0.1 % maker fee.
    assert.equal((after.free as unknown as Record<string, number>).USDT, 1_000_000 - 240 - 0.24);
  });

  test('@binance/connector Spot: account, newOrder, cancelOrder, depth', async () => {
    // @ts-expect-error The connector ships no type declarations.
    const { Spot } = await import('@binance/connector');
    const client = new Spot(demoKeys.apiKey2, demoKeys.secret2, { baseURL: server.url });
    const account = await client.account();
    assert.equal(account.data.accountType, 'SPOT');
    assert.ok(account.data.balances.some((balance: { asset: string }) => balance.asset === 'ETH'));
    const placed = await client.newOrder('ETHUSDT', 'SELL', 'LIMIT', { price: '3500', quantity: '0.5', timeInForce: 'GTC', newOrderRespType: 'RESULT' });
    assert.equal(placed.data.status, 'NEW');
    assert.equal(placed.data.price, '3500.00000000');
    const depth = await eventually(async () => (await client.depth('ETHUSDT', { limit: 5 })).data, (value) => value.asks.length === 1, 'the ETHUSDT ask');
    assert.deepEqual(depth.asks[0].map(Number), [3500, 0.5]);
    const canceled = await client.cancelOrder('ETHUSDT', { orderId: placed.data.orderId });
    assert.equal(canceled.data.status, 'CANCELED');
    const client2 = new ApiClient(server.url, demoKeys.apiKey2, demoKeys.secret2);
    const openAfter = await client2.signed('GET', '/api/v3/openOrders', { symbol: 'ETHUSDT' });
    assert.deepEqual(openAfter.body, []);
  });
});
