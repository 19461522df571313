// The admin API and the listenKey endpoints against a real embedded exchange: markets from
// decimal rules, halt and resume, fees, users and keys, idempotent deposits and
// withdrawals, the solvency report, and userDataStream POST/PUT/DELETE.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, demoKeys, startTestExchange, type TestExchange } from './support.ts';

describe('admin API and user data stream keys', () => {
  let server: TestExchange;
  let client: ApiClient;

  before(async () => {
    server = await startTestExchange();
    client = new ApiClient(server.url, demoKeys.apiKey, demoKeys.secret);
  });
  after(async () => {
    await server.stop();
  });

  test('needs the bearer token', async () => {
    const response = await fetch(`${server.url}/admin/v1/users`, { headers: { authorization: 'Bearer wrong' } });
    assert.equal(response.status, 401);
    assert.equal(((await response.json()) as { code: number }).code, -1002);
  });

  test('assets and markets from decimal rules; halt, resume and fees', async () => {
    assert.equal((await client.admin('POST', '/assets', { asset: 'SOL', scale: 8 })).status, 200);
    const bad = await client.admin('POST', '/markets', {
      symbol: 'SOLUSDT', baseAsset: 'SOL', quoteAsset: 'USDT', tickSize: '0.0001', stepSize: '0.001', minQty: '0.001', maxQty: '1000', maxPrice: '10000', minNotional: '1',
    });
    assert.equal(bad.status, 400, 'tick x step finer than one USDT atom (scale 6) is refused');
    const created = await client.admin('POST', '/markets', {
      symbol: 'SOLUSDT', baseAsset: 'SOL', quoteAsset: 'USDT', tickSize: '0.01', stepSize: '0.01', minQty: '0.01', maxQty: '100000', maxPrice: '10000', minNotional: '1', makerFeeBps: 5, takerFeeBps: 7,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.tickSize, '0.01000000');
    assert.equal(created.body.stepSize, '0.01000000');
    const info = await client.public('/api/v3/exchangeInfo', 'symbol=SOLUSDT');
    assert.equal(info.body.symbols[0].filters[0].tickSize, '0.01000000');

    await client.admin('POST', '/deposits', { transferId: 'sol-1', userId: 1, asset: 'SOL', amount: '10' });
    assert.equal((await client.admin('POST', '/markets/SOLUSDT/halt')).body.status, 'HALT');
    const halted = await client.signed('POST', '/api/v3/order', { symbol: 'SOLUSDT', side: 'SELL', type: 'LIMIT', timeInForce: 'GTC', quantity: '1', price: '150' });
    assert.equal(halted.status, 400);
    assert.equal(halted.body.code, -1013);
    assert.equal(halted.body.msg, 'Market is closed.');
    assert.equal((await client.admin('POST', '/markets/SOLUSDT/resume')).body.status, 'TRADING');
    const placed = await client.signed('POST', '/api/v3/order', { symbol: 'SOLUSDT', side: 'SELL', type: 'LIMIT', timeInForce: 'GTC', quantity: '1', price: '150' });
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    const fees = await client.admin('PUT', '/markets/SOLUSDT/fees', { makerFeeBps: 2, takerFeeBps: 4 });
    assert.equal(fees.body.makerFeeBps, 2);
    assert.equal(fees.body.takerFeeBps, 4);
  });

  test('users, keys, idempotent deposits and withdrawals, solvency', async () => {
    const user = await client.admin('POST', '/users', { email: 'carol@example.com', password: 'correct horse' });
    assert.equal(user.status, 201);
    assert.equal((await client.admin('POST', '/users', { email: 'carol@example.com' })).status, 409);
    const users = await client.admin('GET', '/users');
    assert.ok(users.body.some((entry: { email: string }) => entry.email === 'carol@example.com'));
    const key = await client.admin('POST', `/users/${user.body.userId}/api-keys`, { permissions: ['read', 'trade'] });
    assert.equal(key.status, 201);
    const carol = new ApiClient(server.url, key.body.apiKey, key.body.secret);

    const deposit = { transferId: 'carol-usdt-1', userId: user.body.userId, asset: 'USDT', amount: '250.5' };
    assert.equal((await client.admin('POST', '/deposits', deposit)).body.duplicate, false);
    assert.equal((await client.admin('POST', '/deposits', deposit)).body.duplicate, true, 'a retried deposit applies once');
    const conflict = await client.admin('POST', '/deposits', { ...deposit, amount: '1' });
    assert.equal(conflict.status, 409);
    const balance = async () => (await carol.signed('GET', '/api/v3/account')).body.balances.find((entry: { asset: string }) => entry.asset === 'USDT');
    assert.deepEqual(await balance(), { asset: 'USDT', free: '250.50000000', locked: '0.00000000' });

    const withdrawal = { transferId: 'carol-w-1', userId: user.body.userId, asset: 'USDT', amount: '50' };
    assert.equal((await client.admin('POST', '/withdrawals', withdrawal)).body.status, 'PENDING');
    assert.deepEqual(await balance(), { asset: 'USDT', free: '200.50000000', locked: '50.00000000' });
    assert.equal((await client.admin('POST', '/withdrawals/carol-w-1/complete')).body.status, 'COMPLETED');
    assert.equal((await client.admin('POST', '/withdrawals/carol-w-1/complete')).body.duplicate, true);
    assert.equal((await client.admin('POST', '/withdrawals/carol-w-1/cancel')).status, 409);
    assert.deepEqual(await balance(), { asset: 'USDT', free: '200.50000000', locked: '0.00000000' });
    const tooMuch = await client.admin('POST', '/withdrawals', { ...withdrawal, transferId: 'carol-w-2', amount: '1000' });
    assert.equal(tooMuch.status, 400);
    assert.equal(tooMuch.body.code, -2010);

    // The notifier turned the deposit into an inbox entry, read with the same signed key.
    const deadline = Date.now() + 5000;
    let inbox = await carol.signed('GET', '/api/v1/notifications', { limit: 10 });
    while ((inbox.status !== 200 || inbox.body.length === 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      inbox = await carol.signed('GET', '/api/v1/notifications', { limit: 10 });
    }
    assert.equal(inbox.status, 200, JSON.stringify(inbox.body));
    assert.ok(inbox.body.length > 0, 'the deposit is in the inbox');
    assert.equal((await new ApiClient(server.url, key.body.apiKey, 'wrongSecret0000000000').signed('GET', '/api/v1/notifications')).body.code, -1022);

    const solvency = await client.admin('GET', '/solvency');
    assert.equal(solvency.body.balanced, true, JSON.stringify(solvency.body));
    const usdt = solvency.body.engine.find((row: { asset: string }) => row.asset === 'USDT');
    assert.equal(usdt.depositsMinusWithdrawals, usdt.balancesPlusHolds);
  });

  test('userDataStream: create, keep alive, close; another user cannot touch the key', async () => {
    const created = await client.raw('POST', '/api/v3/userDataStream');
    assert.equal(created.status, 200);
    assert.match(created.body.listenKey, /^[A-Za-z0-9]{60}$/);
    const other = new ApiClient(server.url, demoKeys.apiKey2, demoKeys.secret2);
    const foreign = await other.raw('PUT', '/api/v3/userDataStream', { query: `listenKey=${created.body.listenKey}` });
    assert.equal(foreign.body.code, -1125);
    assert.deepEqual((await client.raw('PUT', '/api/v3/userDataStream', { query: `listenKey=${created.body.listenKey}` })).body, {});
    assert.deepEqual((await client.raw('DELETE', '/api/v3/userDataStream', { query: `listenKey=${created.body.listenKey}` })).body, {});
    assert.equal((await client.raw('PUT', '/api/v3/userDataStream', { query: `listenKey=${created.body.listenKey}` })).body.code, -1125);
    assert.equal((await client.raw('POST', '/api/v3/userDataStream', { headers: { 'X-MBX-APIKEY': '' } })).body.code, -2014);
  });
});
