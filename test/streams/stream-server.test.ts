// The WebSocket stream server over real sockets: SUBSCRIBE / UNSUBSCRIBE /
// LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY and their errors, raw and combined
// streams, the 5 messages per second limit, a slow consumer closed with 4000 while a fast
// one gets everything, user data streams on a listenKey (and its expiry), and the
// serverShutdown event.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket from 'ws';
import ccxt from 'ccxt';
import { SeededRandom } from '../../src/lib/prng.ts';
import { cancelOrder, transfer } from '../../src/domain/command.ts';
import { CommandType } from '../../src/domain/codes.ts';
import { placeOrder } from '../../src/domain/command.ts';
import { OrderType, Side, TimeInForce } from '../../src/domain/codes.ts';
import { formatPrice, formatQuantity, parsePriceTicks, parseQuantityLots, marketFormatFromAssets } from '../../src/domain/market-format.ts';
import { attachStreamServer, streamCloseCodes } from '../../src/services/gateway/streams.ts';
import { FastCounter } from '../../src/adapters/metrics.ts';
import { startExchange, TestSocket, type RunningExchange } from './embedded.ts';
import { startStack, type Stack } from './stack.ts';
import { limitOrder, settle, startPipeline, testLogger } from './support.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// One embedded exchange (the real src/main.ts) serves the first two tests; one stack with
// small limits (a 256 KiB send buffer, listenKeys checked every 200 ms) the last two.
let exchange: RunningExchange;
let stack: Stack;
const streamMetrics = { wsConnectionsOpened: new FastCounter(), wsMessagesDropped: new FastCounter() };
before(async () => {
  [exchange, stack] = await Promise.all([
    startExchange(),
    startStack({ streamLimits: { sendBufferBytesMax: 256 * 1024, closeGraceMs: 20_000, listenKeyCheckIntervalMs: 200 }, streamMetrics }),
  ]);
});
after(async () => {
  await exchange.stop();
  await stack.stop();
});

test('live subscriptions, properties and request errors follow Binance', { timeout: 60_000 }, async () => {
  {
    const market = exchange.host.marketBySymbol('BTCUSDT')!;
    const format = marketFormatFromAssets(market.spec, exchange.host.assets());
    const price = (parsePriceTicks(format, '65000') as { ok: true; value: number }).value;
    const lots = (parseQuantityLots(format, '0.001') as { ok: true; value: number }).value;
    const [maker, taker] = exchange.demoUsers.map((user) => user.userId) as [number, number];
    const trade = async () => {
      await exchange.host.submit(placeOrder({ accountId: maker, marketId: market.marketId, side: Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: price, quantityLots: lots }));
      await exchange.host.submit(placeOrder({ accountId: taker, marketId: market.marketId, side: Side.Buy, orderType: OrderType.Market, quantityLots: lots }));
    };

    const client = new TestSocket(`${exchange.wsUrl}/ws`);
    await client.opened();
    // Requests are paced under the 5 messages per second limit.
    client.send({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'btcusdt@depth'], id: 1 });
    assert.deepEqual(await client.next(), { result: null, id: 1 });
    await pause(250);
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: 2 });
    assert.deepEqual(await client.next(), { result: ['btcusdt@trade', 'btcusdt@depth'], id: 2 });
    await trade();
    const raw = await client.nextMatching((message) => message.e === 'trade');
    assert.equal(raw.s, 'BTCUSDT');
    assert.equal(raw.p, formatPrice(format, price));
    await pause(250);
    client.send({ method: 'SET_PROPERTY', params: ['combined', true], id: 3 });
    assert.deepEqual(await client.nextMatching((message) => message.id === 3), { result: null, id: 3 });
    await pause(250);
    client.send({ method: 'GET_PROPERTY', params: ['combined'], id: 4 });
    assert.deepEqual(await client.nextMatching((message) => message.id === 4), { result: true, id: 4 });
    await trade();
    const wrapped = await client.nextMatching((message) => message.stream === 'btcusdt@trade');
    assert.equal((wrapped.data as { e: string }).e, 'trade');
    await pause(250);
    client.send({ method: 'UNSUBSCRIBE', params: ['btcusdt@trade'], id: 5 });
    assert.deepEqual(await client.nextMatching((message) => message.id === 5), { result: null, id: 5 });
    await pause(250);
    client.send({ method: 'LIST_SUBSCRIPTIONS', id: 'list6' });
    assert.deepEqual(await client.nextMatching((message) => message.id === 'list6'), { result: ['btcusdt@depth'], id: 'list6' });

    await pause(1000);
    const errors: [unknown, unknown][] = [
      [{ method: 'SUBSCRIBE', params: ['nosuchusdt@trade'], id: 7 }, { error: { code: 2, msg: 'Invalid request: invalid stream' }, id: 7 }],
      [{ method: 'SUBSCRIBE', params: ['BTCUSDT@trade'], id: 8 }, { error: { code: 2, msg: 'Invalid request: invalid stream' }, id: 8 }],
      [{ method: 'SET_PROPERTY', params: ['colour', true], id: 9 }, { error: { code: 0, msg: 'Unknown property' }, id: 9 }],
      [{ method: 'SET_PROPERTY', params: ['combined', 'yes'], id: 10 }, { error: { code: 1, msg: 'Invalid value type: expected Boolean' }, id: 10 }],
    ];
    for (const [request, expected] of errors) {
      client.send(request);
      assert.deepEqual(await client.nextMatching((message) => 'error' in message), expected);
    }
    await pause(1000);
    client.send('{not json');
    const invalidJson = await client.nextMatching((message) => 'error' in message) as { error: { code: number }; id: unknown };
    assert.equal(invalidJson.error.code, 3);
    client.send({ method: 'PING', id: 11 });
    const unknownMethod = await client.nextMatching((message) => 'error' in message) as { error: { code: number; msg: string }; id: unknown };
    assert.equal(unknownMethod.error.code, 2);
    assert.match(unknownMethod.error.msg, /unknown variant/);
    client.send({ method: 'SUBSCRIBE', params: Array.from({ length: 1025 }, (_, index) => `btcusdt@kline_1m${index}`), id: 12 });
    const tooMany = await client.nextMatching((message) => 'error' in message) as { error: { code: number; msg: string }; id: unknown };
    assert.equal(tooMany.id, 12);
    assert.match(tooMany.error.msg, /too many streams/);
    client.close();
    await client.closed;

    // Combined streams from the URL, and a refused unknown stream.
    const combined = new TestSocket(`${exchange.wsUrl}/stream?streams=btcusdt@aggTrade/btcusdt@bookTicker`);
    await combined.opened();
    await settle(50);
    await trade();
    const aggregate = await combined.nextMatching((message) => message.stream === 'btcusdt@aggTrade');
    assert.equal((aggregate.data as { e: string }).e, 'aggTrade');
    combined.close();
    // Names that are no stream open an empty connection (CCXT connects to `/ws/0`), but an
    // unknown listenKey is refused.
    const nameless = new TestSocket(`${exchange.wsUrl}/ws/0`);
    await nameless.opened();
    nameless.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
    assert.deepEqual(await nameless.next(), { result: [], id: 1 });
    nameless.close();
    const refused = new TestSocket(`${exchange.wsUrl}/ws/${'z'.repeat(60)}`);
    await assert.rejects(refused.opened(), /HTTP 400/);
  }
});

test('more than 5 incoming messages in a second close the connection with 1008', { timeout: 30_000 }, async () => {
  {
    const client = new TestSocket(`${exchange.wsUrl}/ws/btcusdt@trade`);
    await client.opened();
    for (let index = 0; index < 8; index++) client.send({ method: 'LIST_SUBSCRIPTIONS', id: index });
    await client.closed;
    assert.equal(client.closeCode, streamCloseCodes.policyFlood);
    assert.equal(client.closeReason, 'too many messages');
    // A polite client on the same server is unaffected.
    const polite = new TestSocket(`${exchange.wsUrl}/ws/btcusdt@trade`);
    await polite.opened();
    polite.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
    assert.deepEqual(await polite.next(), { result: ['btcusdt@trade'], id: 1 });
    polite.close();
  }
});

test('a slow consumer is closed with 4000 after a gap-free prefix, and never slows a fast one', { timeout: 60_000 }, async () => {
  {
    const openedBefore = streamMetrics.wsConnectionsOpened.value;
    const slow = new TestSocket(`${stack.wsUrl}/ws/btcusdt@trade`);
    const fast = new TestSocket(`${stack.wsUrl}/ws/btcusdt@trade`);
    await Promise.all([slow.opened(), fast.opened()]);
    assert.equal(streamMetrics.wsConnectionsOpened.value, openedBefore + 2, 'every accepted connection is counted');
    await settle(50);
    (slow.socket as unknown as { _socket: Socket })._socket.pause();
    const filler = 'x'.repeat(2000);
    const messagesTotal = 5000;
    // The fast client reads each burst before the next is published, so it is fast by
    // construction even on a loaded machine; the paused one falls behind by megabytes.
    const fastSeen: number[] = [];
    const burstMessages = 100;
    for (let index = 0; index < messagesTotal; index++) {
      await stack.pubsub.publish('md.BTCUSDT.trade', JSON.stringify({ e: 'trade', n: index, filler }));
      if ((index + 1) % burstMessages === 0) {
        while (fastSeen.length < index + 1) fastSeen.push(((await fast.next(10_000)) as { n: number }).n);
      }
    }
    while (fastSeen.length < messagesTotal) fastSeen.push(((await fast.next(10_000)) as { n: number }).n);
    assert.deepEqual(fastSeen, Array.from({ length: messagesTotal }, (_, index) => index));
    assert.equal(stack.streams.stats().slowConsumerCloses, 1);
    // The one message that did not fit is counted as dropped; everything before it is delivered.
    assert.equal(stack.streams.stats().messagesDropped, 1);
    assert.equal(streamMetrics.wsMessagesDropped.value, 1);
    (slow.socket as unknown as { _socket: Socket })._socket.resume();
    const slowSeen: number[] = [];
    const collect = (async () => {
      for (;;) slowSeen.push(((await slow.next(20_000)) as { n: number }).n);
    })().catch(() => undefined);
    await slow.closed;
    await collect;
    assert.equal(slow.closeCode, streamCloseCodes.slowConsumer);
    assert.equal(slow.closeReason, 'slow consumer');
    assert.ok(slowSeen.length > 0 && slowSeen.length < messagesTotal, `slow client got ${slowSeen.length}`);
    assert.deepEqual(slowSeen, Array.from({ length: slowSeen.length }, (_, index) => index), 'what the slow client got has no gap');
    fast.close();
  }
});

test('user data stream on a listenKey: executionReport, account position, balance update, expiry, shutdown', { timeout: 60_000 }, async () => {
  {
    const listenKey = 'k'.repeat(60);
    await stack.cache.set(`listenKey:${listenKey}`, '2', 60_000);
    const client = new TestSocket(`${stack.wsUrl}/ws/${listenKey}`);
    await client.opened();
    await settle(50);
    await stack.submit(transfer(CommandType.Deposit, 'user-stream-deposit', 2, 'USDT', 150_000_000));
    const balance = await client.nextMatching((message) => message.e === 'balanceUpdate');
    assert.deepEqual(Object.keys(balance), ['e', 'E', 'a', 'd', 'T']);
    assert.equal(balance.a, 'USDT');
    assert.equal(balance.d, '1.50000000');
    const position = await client.nextMatching((message) => message.e === 'outboundAccountPosition');
    assert.deepEqual((position.B as { a: string }[]).map((entry) => entry.a), ['USDT']);

    await stack.submit(limitOrder(1, Side.Sell, 10_000, 1));
    const placed = await stack.submit(limitOrder(2, Side.Buy, 10_000, 3, { clientOrderId: 'my-order-1' }));
    const orderId = placed.events.find((event) => event.type === 'OrderAccepted')!.orderId as number;
    const created = await client.nextMatching((message) => message.e === 'executionReport');
    assert.deepEqual(Object.keys(created), [
      'e', 'E', 's', 'c', 'S', 'o', 'f', 'q', 'p', 'P', 'F', 'g', 'C', 'x', 'X', 'r', 'i', 'l', 'z', 'L', 'n', 'N', 'T', 't', 'I', 'w', 'm', 'M', 'O', 'Z', 'Y', 'Q', 'W', 'V',
    ]);
    assert.deepEqual([created.s, created.c, created.S, created.o, created.f, created.q, created.p, created.x, created.X, created.i], [
      'BTCUSDT', 'my-order-1', 'BUY', 'LIMIT', 'GTC', '0.00003000', '100.00000000', 'NEW', 'NEW', orderId,
    ]);
    const filled = await client.nextMatching((message) => message.e === 'executionReport');
    assert.deepEqual([filled.x, filled.X, filled.l, filled.z, filled.L, filled.Z, filled.Y, filled.N, filled.m, filled.w], [
      'TRADE', 'PARTIALLY_FILLED', '0.00001000', '0.00001000', '100.00000000', '0.00100000', '0.00100000', 'USDT', false, true,
    ]);
    assert.equal(filled.n, '0.00000200', 'taker fee 20 bps of 0.001 USDT');
    assert.ok((filled.t as number) > 0);
    await client.nextMatching((message) => message.e === 'outboundAccountPosition');
    await stack.submit(cancelOrder(2, 1, orderId));
    const canceled = await client.nextMatching((message) => message.e === 'executionReport');
    assert.deepEqual([canceled.x, canceled.X, canceled.C, canceled.z], ['CANCELED', 'CANCELED', 'my-order-1', '0.00001000']);

    // The listenKey goes away: the stream says so and the connection closes.
    await stack.cache.delete(`listenKey:${listenKey}`);
    const expired = await client.nextMatching((message) => message.e === 'listenKeyExpired', 5000);
    assert.equal(expired.listenKey, listenKey);
    await client.closed;
    assert.equal(client.closeCode, streamCloseCodes.listenKeyExpired);

    // Shutdown: every client hears serverShutdown, then a 1001 close.
    const watcher = new TestSocket(`${stack.wsUrl}/ws/btcusdt@depth`);
    await watcher.opened();
    await stack.streams.close();
    const shutdown = await watcher.nextMatching((message) => message.e === 'serverShutdown');
    assert.equal(typeof shutdown.E, 'number');
    await watcher.closed;
    assert.equal(watcher.closeCode, streamCloseCodes.serverShutdown);
  }
});

test('the server pings every interval; a client that never answers is dropped with 4002', { timeout: 30_000 }, async () => {
  const pipeline = await startPipeline();
  const server = createServer((_request, response) => response.writeHead(404).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const streams = attachStreamServer(server, {
    pubsub: pipeline.pubsub, cache: pipeline.cache, reads: pipeline.host, logger: testLogger,
    limits: { pingIntervalMs: 100, pongTimeoutMs: 450, closeGraceMs: 200 },
  });
  try {
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/btcusdt@trade`;
    const answering = new WebSocket(url);
    const silent = new WebSocket(url, { autoPong: false });
    let pingsSeen = 0;
    answering.on('ping', () => { pingsSeen += 1; });
    const silentClosed = new Promise<number>((resolve) => silent.on('close', (code) => resolve(code)));
    silent.on('error', () => undefined);
    const code = await silentClosed;
    assert.equal(code, streamCloseCodes.pongTimeout);
    assert.ok(pingsSeen >= 3, `pings seen by the answering client: ${pingsSeen}`);
    assert.equal(answering.readyState, WebSocket.OPEN, 'the client that answers pings stays connected');
    answering.close();
  } finally {
    await streams.close();
    await new Promise((resolve) => server.close(resolve));
    await pipeline.close();
  }
});

test('CCXT pro (binance) watchOrderBook and watchTrades keep a book identical to the engine', { timeout: 60_000 }, async () => {
  const client = new ccxt.pro.binance({
    enableRateLimit: false,
    options: { fetchMarkets: ['spot'], fetchCurrencies: false, fetchMargins: false, defaultType: 'spot', adjustForTimeDifference: false },
  });
  const api = (client.urls as { api: Record<string, unknown> }).api;
  for (const name of Object.keys(api)) {
    if (name === 'ws' || typeof api[name] !== 'string') continue;
    const path = new URL(api[name] as string).pathname;
    api[name] = `${exchange.url}${path.startsWith('/api/') ? path.replace(/\/api\/v\d+$/, '/api/v3') : '/api/v3'}`;
  }
  (api.ws as Record<string, string>).spot = `${exchange.wsUrl}/ws`;
  try {
    await (client as unknown as { loadHttpProxyAgent(): Promise<void> }).loadHttpProxyAgent();
    await client.loadMarkets();
    const market = exchange.host.marketBySymbol('ETHUSDT')!;
    const format = marketFormatFromAssets(market.spec, exchange.host.assets());
    const mid = (parsePriceTicks(format, '3200') as { ok: true; value: number }).value;
    const lots = (parseQuantityLots(format, '0.01') as { ok: true; value: number }).value;
    const [maker, taker] = exchange.demoUsers.map((user) => user.userId) as [number, number];
    const seed = 9001;
    const random = new SeededRandom(seed);
    const firstBook = client.watchOrderBook('ETH/USDT');
    const firstTrades = client.watchTrades('ETH/USDT');
    const submitRandom = async (count: number) => {
      for (let index = 0; index < count; index++) {
        const side = random.chance(0.5) ? Side.Buy : Side.Sell;
        const distance = random.chance(0.15) ? -random.integer(0, 3) : random.integer(1, 30);
        await exchange.host.submit(placeOrder({
          accountId: random.chance(0.5) ? maker : taker, marketId: market.marketId, side, orderType: OrderType.Limit,
          timeInForce: TimeInForce.GTC, priceTicks: mid + (side === Side.Buy ? -distance : distance) * 100, quantityLots: lots * random.integer(1, 4),
        }));
      }
    };
    await submitRandom(100);
    await firstBook;
    await submitRandom(200);
    const trades = await firstTrades;
    assert.ok(trades.length > 0 && trades[0]!.symbol === 'ETH/USDT', `seed ${seed}`);
    const engine = exchange.host.depth(market.marketId, 5000);
    let book = await client.watchOrderBook('ETH/USDT');
    const deadline = Date.now() + 10_000;
    while ((book as unknown as { nonce: number }).nonce < engine.updateId && Date.now() < deadline) book = await client.watchOrderBook('ETH/USDT');
    assert.equal((book as unknown as { nonce: number }).nonce, engine.updateId, `seed ${seed}`);
    const numbers = (levels: [number, number][]) => levels.map(([price, quantity]) => [Number(formatPrice(format, price)), Number(formatQuantity(format, quantity))]);
    assert.deepEqual(Array.from(book.bids, ([price, quantity]) => [price, quantity]), numbers(engine.bids), `seed ${seed}`);
    assert.deepEqual(Array.from(book.asks, ([price, quantity]) => [price, quantity]), numbers(engine.asks), `seed ${seed}`);
  } finally {
    await client.close();
  }
});

test('market data REST through the real gateway answers from the cache, with Binance errors', { timeout: 30_000 }, async () => {
  const depth = await fetch(`${exchange.url}/api/v3/depth?symbol=ETHUSDT&limit=5`);
  assert.equal(depth.status, 200);
  assert.equal(depth.headers.get('x-data-source'), 'cache');
  const book = (await depth.json()) as { lastUpdateId: number; bids: unknown[]; asks: unknown[] };
  const market = exchange.host.marketBySymbol('ETHUSDT')!;
  assert.ok(book.lastUpdateId <= exchange.host.depth(market.marketId, 1).updateId, 'a snapshot is never ahead of the engine');
  const errors: [string, number][] = [
    ['/api/v3/depth?symbol=NOPE', -1121],
    ['/api/v3/klines?symbol=ETHUSDT&interval=2s', -1120],
    ['/api/v3/trades?symbol=ETHUSDT&limit=5000', -1100],
    ['/api/v3/depth?symbol=ETHUSDT&symbol=ETHUSDT', -1101],
    ['/api/v3/ticker/price?symbol=ETHUSDT&fee=1', -1104],
  ];
  for (const [path, code] of errors) {
    const response = await fetch(`${exchange.url}${path}`);
    assert.equal(response.status, 400, path);
    assert.equal(((await response.json()) as { code: number }).code, code, path);
  }
  const klines = await fetch(`${exchange.url}/api/v3/uiKlines?symbol=ETHUSDT&interval=1M&limit=3`);
  assert.equal(klines.status, 200);
  assert.ok(Array.isArray(await klines.json()));
});

test('embedded exchange: listenKey from REST, executionReport on the stream, signed inbox read', { timeout: 60_000 }, async () => {
  const user = exchange.demoUsers[0]!;
  const created = await fetch(`${exchange.url}/api/v3/userDataStream`, { method: 'POST', headers: { 'X-MBX-APIKEY': user.apiKey } });
  assert.equal(created.status, 200);
  const { listenKey } = (await created.json()) as { listenKey: string };
  const client = new TestSocket(`${exchange.wsUrl}/stream?streams=${listenKey}/ethusdt@trade`);
  await client.opened();
  await settle(50);
  const market = exchange.host.marketBySymbol('ETHUSDT')!;
  const format = marketFormatFromAssets(market.spec, exchange.host.assets());
  const placed = await exchange.host.submit(placeOrder({
    accountId: user.userId, marketId: market.marketId, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC,
    priceTicks: (parsePriceTicks(format, '1000') as { ok: true; value: number }).value,
    quantityLots: (parseQuantityLots(format, '0.05') as { ok: true; value: number }).value, clientOrderId: 'stream-e2e-1',
  }));
  const orderId = placed.events.find((event) => event.type === 'OrderAccepted')!.orderId;
  const report = await client.nextMatching((message) => message.stream === listenKey && (message.data as { e: string }).e === 'executionReport');
  const data = report.data as Record<string, unknown>;
  assert.deepEqual([data.s, data.c, data.x, data.X, data.i, data.p, data.q], ['ETHUSDT', 'stream-e2e-1', 'NEW', 'NEW', orderId, formatPrice(format, (parsePriceTicks(format, '1000') as { ok: true; value: number }).value), formatQuantity(format, (parseQuantityLots(format, '0.05') as { ok: true; value: number }).value)]);
  await client.nextMatching((message) => message.stream === listenKey && (message.data as { e: string }).e === 'outboundAccountPosition');
  client.close();

  // The same order is in the user's inbox, read with a Binance-signed request.
  const deadline = Date.now() + 10_000;
  let inbox: { kind: string; payload: { c?: string } }[] = [];
  while (Date.now() < deadline) {
    const query = `limit=10&timestamp=${Date.now()}`;
    const signature = createHmac('sha256', user.secret).update(query).digest('hex');
    const response = await fetch(`${exchange.url}/api/v1/notifications?${query}&signature=${signature}`, { headers: { 'X-MBX-APIKEY': user.apiKey } });
    assert.equal(response.status, 200);
    inbox = (await response.json()) as typeof inbox;
    if (inbox.some((row) => row.kind === 'order' && row.payload.c === 'stream-e2e-1')) break;
    await settle(50);
  }
  assert.ok(inbox.some((row) => row.kind === 'order' && row.payload.c === 'stream-e2e-1'), JSON.stringify(inbox).slice(0, 300));
  const unsigned = await fetch(`${exchange.url}/api/v1/notifications`, { headers: { 'X-MBX-APIKEY': user.apiKey } });
  assert.equal(unsigned.status, 400);
});
