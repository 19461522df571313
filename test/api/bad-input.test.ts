// Every bad-input row of issue 3 against a real embedded exchange: each gets its exact
// Binance code and HTTP status and changes nothing (the engine's state hash and command
// sequence are the same before and after). Also: idempotent retries, replays, rate limits
// and the "status unknown" answer settled by a lookup.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordLog } from '../../src/ports/log.ts';
import { ApiClient, demoKeys, sign, startTestExchange, type ApiAnswer, type TestExchange } from './support.ts';

describe('bad input changes nothing and gets a precise error', () => {
  let server: TestExchange;
  let alice: ApiClient;
  let bob: ApiClient;
  let bobOrderId = 0;
  const bobClientOrderId = 'bob-resting-1';

  // The engine's state only: the projection's position may move on its own meanwhile.
  const state = async () => {
    const body = (await alice.admin('GET', '/state')).body as { stateHash: string; lastCommandSequence: number };
    return { stateHash: body.stateHash, lastCommandSequence: body.lastCommandSequence };
  };
  const expectRefused = async (what: string, request: () => Promise<ApiAnswer>, status: number, code: number, message?: RegExp) => {
    const before = await state();
    const answer = await request();
    assert.equal(answer.status, status, `${what}: status ${answer.status} ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.code, code, `${what}: ${JSON.stringify(answer.body)}`);
    if (message) assert.match(answer.body.msg, message, what);
    const afterwards = await state();
    assert.deepEqual(afterwards, before, `${what} changed the engine state: ${JSON.stringify(answer.body)}`);
    return answer;
  };
  const order = (overrides: Record<string, string | number | undefined> = {}) => {
    const params: Record<string, string | number> = {};
    for (const [key, value] of Object.entries({ symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01', price: '50000', ...overrides })) {
      if (value !== undefined) params[key] = value;
    }
    return () => alice.signed('POST', '/api/v3/order', params);
  };

  before(async () => {
    server = await startTestExchange();
    alice = new ApiClient(server.url, demoKeys.apiKey, demoKeys.secret);
    bob = new ApiClient(server.url, demoKeys.apiKey2, demoKeys.secret2);
    const placed = await bob.signed('POST', '/api/v3/order', { symbol: 'BTCUSDT', side: 'SELL', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01', price: '90000', newClientOrderId: bobClientOrderId });
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    bobOrderId = placed.body.orderId;
  });
  after(async () => {
    await server.stop();
  });

  test('malformed query, JSON and bodies', async () => {
    await expectRefused('bad percent-encoding', () => alice.raw('GET', '/api/v3/account', { query: 'timestamp=1&%ZZ=1&signature=00' }), 400, -1100);
    await expectRefused('empty parameter segment', () => alice.raw('GET', '/api/v3/account', { query: 'a=1&&b=2' }), 400, -1100);
    await expectRefused('JSON body on /api/v3', () => alice.raw('POST', '/api/v3/order', { body: '{"symbol":"BTCUSDT"}', headers: { 'content-type': 'application/json' } }), 400, -1102);
    await expectRefused('malformed JSON on the admin API', () => fetch(`${server.url}/admin/v1/deposits`, {
      method: 'POST', headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' }, body: '{"transferId": "x",',
    }).then(async (response) => ({ status: response.status, body: await response.json(), headers: response.headers })), 400, -1102);
    const big = 'a'.repeat(20_000);
    await expectRefused('body over the limit', () => alice.raw('POST', '/api/v3/order', { body: `symbol=${big}` }), 413, -1101, /16384 bytes/);
  });

  test('unknown, duplicated and extra parameters', async () => {
    await expectRefused('unknown parameter', order({ foo: '1' }), 400, -1104, /read '8' parameter\(s\) but was sent '9'/);
    await expectRefused('extra field userId', order({ userId: '2' }), 400, -1104);
    await expectRefused('extra field fee', order({ fee: '0' }), 400, -1104);
    const payload = 'symbol=BTCUSDT&symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000&timestamp=' + Date.now();
    await expectRefused('duplicated parameter', () => alice.raw('POST', '/api/v3/order', { query: `${payload}&signature=${sign(demoKeys.secret, payload)}` }), 400, -1101);
    const split = `symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000&timestamp=${Date.now()}`;
    await expectRefused('the same parameter in query and body', () => alice.raw('POST', '/api/v3/order', { query: 'price=1', body: `${split}&signature=${sign(demoKeys.secret, `price=1${split}`)}` }), 400, -1101);
    await expectRefused('missing side', order({ side: undefined }), 400, -1102, /'side'/);
    await expectRefused('missing timeInForce on LIMIT', order({ timeInForce: undefined }), 400, -1102, /'timeInForce'/);
    await expectRefused('lower-case side', order({ side: 'buy' }), 400, -1117);
    await expectRefused('unknown type', order({ type: 'STOP_LOSS' }), 400, -1116);
    await expectRefused('unknown timeInForce', order({ timeInForce: 'GTX' }), 400, -1115);
    await expectRefused('quoteOrderQty on a LIMIT', order({ quoteOrderQty: '100' }), 400, -1106);
    await expectRefused('price on a MARKET', order({ type: 'MARKET', timeInForce: undefined }), 400, -1106, /'price'/);
    await expectRefused('bad newOrderRespType', order({ newOrderRespType: 'FAST' }), 400, -1136);
    await expectRefused('bad newClientOrderId', order({ newClientOrderId: 'has space' }), 400, -1100);
  });

  test('numbers only as plain decimal strings', async () => {
    for (const bad of ['NaN', '1e5', '0x10', '+1', '-1', ' 1', '1 ', '1,5', '.5', '5.', 'Infinity', '０']) {
      await expectRefused(`price ${JSON.stringify(bad)}`, order({ price: bad }), 400, -1100, /legal range/);
      await expectRefused(`quantity ${JSON.stringify(bad)}`, order({ quantity: bad }), 400, -1100, /legal range/);
    }
    await expectRefused('timestamp with a sign', () => alice.raw('GET', '/api/v3/account', { query: `timestamp=-1&signature=${sign(demoKeys.secret, 'timestamp=-1')}` }), 400, -1100);
  });

  test('zero, negative, oversized and off-grid values', async () => {
    await expectRefused('zero price', order({ price: '0' }), 400, -1013, /PRICE_FILTER/);
    await expectRefused('zero quantity', order({ quantity: '0' }), 400, -1013, /LOT_SIZE/);
    await expectRefused('price above maxPrice', order({ price: '1000000.01' }), 400, -1013, /PRICE_FILTER/);
    await expectRefused('quantity above maxQty', order({ quantity: '1000.0001' }), 400, -1013, /LOT_SIZE/);
    await expectRefused('enormous quantity', order({ quantity: '99999999999999999999' }), 400, -1013, /LOT_SIZE/);
    await expectRefused('price finer than the tick', order({ price: '50000.001' }), 400, -1013, /PRICE_FILTER/);
    await expectRefused('quantity finer than the step', order({ quantity: '0.01001' }), 400, -1013, /LOT_SIZE/);
    await expectRefused('below the minimum notional', order({ price: '1', quantity: '0.0001' }), 400, -1013, /NOTIONAL/);
    await expectRefused('market quote amount below the minimum notional', order({ type: 'MARKET', timeInForce: undefined, price: undefined, quantity: undefined, quoteOrderQty: '1' }), 400, -1013, /NOTIONAL/);
    await expectRefused('market quantity above MARKET_LOT_SIZE', order({ type: 'MARKET', timeInForce: undefined, price: undefined, quantity: '100.0001' }), 400, -1013, /MARKET_LOT_SIZE/);
  });

  test('unknown or lower-case symbols', async () => {
    await expectRefused('unknown symbol', order({ symbol: 'FOOBAR' }), 400, -1121, /Invalid symbol/);
    await expectRefused('lower-case symbol', order({ symbol: 'btcusdt' }), 400, -1121);
    await expectRefused('unknown symbol on exchangeInfo', () => alice.public('/api/v3/exchangeInfo', 'symbol=NOPE'), 400, -1121);
  });

  test('keys, signatures, timestamps and recvWindow', async () => {
    await expectRefused('no API key', () => alice.raw('GET', '/api/v3/account', { query: 'timestamp=1&signature=00', headers: { 'X-MBX-APIKEY': '' } }), 401, -2014);
    const stranger = new ApiClient(server.url, 'unknownKey00000000000000', demoKeys.secret);
    await expectRefused('unknown API key', () => stranger.signed('GET', '/api/v3/account'), 401, -2015);
    const forger = new ApiClient(server.url, demoKeys.apiKey, 'wrongSecret000000000000000');
    await expectRefused('bad signature', () => forger.signed('POST', '/api/v3/order', { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01', price: '50000' }), 400, -1022);
    const payload = `symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000&timestamp=${Date.now()}`;
    await expectRefused('signature of other parameters', () => alice.raw('POST', '/api/v3/order', { query: `${payload}&signature=${sign(demoKeys.secret, payload.replace('50000', '50001'))}` }), 400, -1022);
    await expectRefused('missing signature', () => alice.raw('GET', '/api/v3/account', { query: `timestamp=${Date.now()}` }), 400, -1102, /'signature'/);
    await expectRefused('stale timestamp', () => alice.signed('GET', '/api/v3/account', {}, { timestamp: Date.now() - 10_000 }), 400, -1021, /outside of the recvWindow/);
    await expectRefused('future timestamp', () => alice.signed('GET', '/api/v3/account', {}, { timestamp: Date.now() + 5000 }), 400, -1021, /ahead of the server/);
    await expectRefused('recvWindow over 60000', () => alice.signed('GET', '/api/v3/account', { recvWindow: 60_001 }), 400, -1131);
    const stale = Date.now() - 30_000;
    const accepted = await alice.signed('GET', '/api/v3/account', { recvWindow: 60_000 }, { timestamp: stale });
    assert.equal(accepted.status, 200, 'a 30 s old request within a 60 s recvWindow is accepted');
    // A replayed order: the first copy is placed, the second refused without effect.
    const orderPayload = `symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=40000&newClientOrderId=replayed-1&timestamp=${Date.now()}`;
    const signedOrder = `${orderPayload}&signature=${sign(demoKeys.secret, orderPayload)}`;
    const first = await alice.raw('POST', '/api/v3/order', { query: signedOrder });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    await expectRefused('replayed signature', () => alice.raw('POST', '/api/v3/order', { query: signedOrder }), 400, -1022);
    const readOnly = await alice.admin('POST', '/users/1/api-keys', { permissions: ['read'] });
    const reader = new ApiClient(server.url, readOnly.body.apiKey, readOnly.body.secret);
    assert.equal((await reader.signed('GET', '/api/v3/account')).status, 200);
    await expectRefused('trading with a read-only key', () => reader.signed('POST', '/api/v3/order', { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01', price: '50000' }), 401, -2015);
    await alice.admin('DELETE', `/api-keys/${readOnly.body.apiKey}`);
    await expectRefused('a revoked key', () => reader.signed('GET', '/api/v3/account'), 401, -2015);
    await expectRefused('a trading key on the admin API', () => alice.raw('GET', '/admin/v1/users'), 401, -1002);
  });

  test("another user's order answers exactly like a missing one", async () => {
    const missingQuery = await expectRefused('missing orderId', () => alice.signed('GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: 999_999 }), 400, -2013);
    const foreignQuery = await expectRefused("bob's orderId", () => alice.signed('GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: bobOrderId }), 400, -2013);
    assert.deepEqual(foreignQuery.body, missingQuery.body);
    const foreignClientQuery = await expectRefused("bob's clientOrderId", () => alice.signed('GET', '/api/v3/order', { symbol: 'BTCUSDT', origClientOrderId: bobClientOrderId }), 400, -2013);
    assert.deepEqual(foreignClientQuery.body, missingQuery.body);
    const missingCancel = await expectRefused('cancel of a missing order', () => alice.signed('DELETE', '/api/v3/order', { symbol: 'BTCUSDT', orderId: 999_999 }), 400, -2011);
    const foreignCancel = await expectRefused("cancel of bob's order", () => alice.signed('DELETE', '/api/v3/order', { symbol: 'BTCUSDT', orderId: bobOrderId }), 400, -2011);
    assert.deepEqual(foreignCancel.body, missingCancel.body);
    const foreignClientCancel = await expectRefused("cancel of bob's clientOrderId", () => alice.signed('DELETE', '/api/v3/order', { symbol: 'BTCUSDT', origClientOrderId: bobClientOrderId }), 400, -2011);
    assert.deepEqual(foreignClientCancel.body, missingCancel.body);
    const bobsView = await bob.signed('GET', '/api/v3/order', { symbol: 'BTCUSDT', orderId: bobOrderId });
    assert.equal(bobsView.body.status, 'NEW', 'the order is untouched');
  });

  test('history limits over the maximum', async () => {
    await expectRefused('allOrders limit 1001', () => alice.signed('GET', '/api/v3/allOrders', { symbol: 'BTCUSDT', limit: 1001 }), 400, -1130);
    await expectRefused('myTrades limit 5000', () => alice.signed('GET', '/api/v3/myTrades', { symbol: 'BTCUSDT', limit: 5000 }), 400, -1130);
    await expectRefused('allOrders limit 0', () => alice.signed('GET', '/api/v3/allOrders', { symbol: 'BTCUSDT', limit: 0 }), 400, -1130);
    const ok = await alice.signed('GET', '/api/v3/allOrders', { symbol: 'BTCUSDT', limit: 1000 });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-data-source'), 'database');
  });

  test('a retried POST order with the same newClientOrderId returns the original order', async () => {
    const params = { symbol: 'ETHUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '1', price: '2000', newClientOrderId: 'retry-me-1', newOrderRespType: 'RESULT' };
    const first = await alice.signed('POST', '/api/v3/order', params);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const retried = await alice.signed('POST', '/api/v3/order', params);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.deepEqual(retried.body, first.body);
    const open = await alice.signed('GET', '/api/v3/openOrders', { symbol: 'ETHUSDT' });
    assert.equal(open.body.filter((entry: { clientOrderId: string }) => entry.clientOrderId === 'retry-me-1').length, 1);
    const conflicting = await alice.signed('POST', '/api/v3/order', { ...params, price: '2001' });
    assert.equal(conflicting.status, 400);
    assert.equal(conflicting.body.code, -2010);
    assert.equal(conflicting.body.msg, 'Duplicate order sent.');
  });

  test('usage headers, and 429 with Retry-After past the order limit', async () => {
    const answer = await alice.signed('POST', '/api/v3/order/test', { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01', price: '50000' });
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('x-mbx-used-weight-1m') ?? '', /^[0-9]+$/);
    const limits = server.exchange.gateway.limiter.limits;
    const saved = limits.ordersPer10Seconds;
    limits.ordersPer10Seconds = 0;
    try {
      const refused = await expectRefused('past the 10 s order limit', order({ price: '41000' }), 429, -1015);
      assert.match(refused.headers.get('retry-after') ?? '', /^[0-9]+$/);
      assert.ok(refused.headers.get('x-mbx-order-count-10s'));
    } finally {
      limits.ordersPer10Seconds = saved;
    }
    const placed = await order({ price: '41000' })();
    assert.equal(placed.status, 200);
    assert.match(placed.headers.get('x-mbx-order-count-10s') ?? '', /^[0-9]+$/);
    assert.match(placed.headers.get('x-mbx-order-count-1d') ?? '', /^[0-9]+$/);
  });

  test('an engine timeout answers -1007 and GET order?origClientOrderId= settles it', async () => {
    // The disk is slow this once: the append takes longer than the gateway waits, so the
    // request answers "unknown" while the command still becomes durable and runs.
    const log = (server.exchange.host as unknown as { options: { commandLog: RecordLog } }).options.commandLog;
    const append = log.append.bind(log);
    const config = server.exchange.gateway.deps.config;
    const savedTimeoutMs = config.commandTimeoutMs;
    log.append = async (payloads, expectedLastSequence) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return append(payloads, expectedLastSequence);
    };
    config.commandTimeoutMs = 50;
    let answer: ApiAnswer;
    try {
      answer = await order({ price: '42000', newClientOrderId: 'unknown-status-1' })();
    } finally {
      config.commandTimeoutMs = savedTimeoutMs;
      log.append = append;
    }
    assert.equal(answer.status, 503);
    assert.equal(answer.body.code, -1007);
    assert.equal(answer.body.msg, 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.');
    const settled = await alice.signed('GET', '/api/v3/order', { symbol: 'BTCUSDT', origClientOrderId: 'unknown-status-1' });
    assert.equal(settled.status, 200, JSON.stringify(settled.body));
    assert.equal(settled.body.status, 'NEW');
    assert.equal(settled.body.price, '42000.00000000');
  });
});
