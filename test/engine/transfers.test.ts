// Deposits and withdrawals: the request / complete / cancel states, idempotency on the
// transferId (CommandDuplicate), conflicts, unknown and not-pending transfers, overflow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transfer } from '../../src/domain/command.ts';
import { CommandType } from '../../src/domain/codes.ts';
import {
  balanceEvent as balance,
  btc,
  describeEngines,
  standardHarness,
  startBtcAtoms as btc0,
  usdt,
} from '../support/harness.ts';

const deposit = (id: string, accountId: number, asset: string, amount: number) => transfer(CommandType.Deposit, id, accountId, asset, amount);
const request = (id: string, accountId: number, asset: string, amount: number) => transfer(CommandType.WithdrawRequest, id, accountId, asset, amount);
const complete = (id: string, accountId = 0) => transfer(CommandType.WithdrawComplete, id, accountId);
const cancel = (id: string, accountId = 0) => transfer(CommandType.WithdrawCancel, id, accountId);

function supply(h: ReturnType<typeof standardHarness>, assetId: number): number {
  return h.engine.assets().find((asset) => asset.assetId === assetId)!.supplyAtoms;
}

describeEngines('deposits', (factory) => {
  test('credit available and the supply; a retry is CommandDuplicate; a changed retry conflicts', () => {
    const h = standardHarness(factory);
    const supplyBefore = supply(h, btc);
    assert.deepEqual(h.payloads(deposit('dep-A', 1, 'BTC', 500)), [
      { type: 'Deposited', accountId: 1, assetId: btc, amountAtoms: 500, transferId: 'dep-A' },
      balance(1, btc, btc0 + 500, 0),
    ]);
    assert.equal(supply(h, btc), supplyBefore + 500);
    const before = h.engine.stateHash();
    const duplicate = h.payloads(deposit('dep-A', 1, 'BTC', 500));
    assert.deepEqual(duplicate, [{ type: 'CommandDuplicate', commandType: CommandType.Deposit, accountId: 1, transferId: 'dep-A' }]);
    assert.notEqual(h.engine.stateHash(), before, 'the sequence counters still advance');
    assert.equal(h.engine.balance(1, btc).availableAtoms, btc0 + 500);
    h.expectRejected(deposit('dep-A', 1, 'BTC', 501), 'TRANSFER_ID_CONFLICT');
    h.expectRejected(deposit('dep-A', 2, 'BTC', 500), 'TRANSFER_ID_CONFLICT');
    h.expectRejected(deposit('dep-A', 1, 'USDT', 500), 'TRANSFER_ID_CONFLICT');
    h.expectRejected(request('dep-A', 1, 'BTC', 500), 'TRANSFER_ID_CONFLICT');
  });

  test('bad deposits are rejected with their reason and the transferId in s0', () => {
    const h = standardHarness(factory);
    const rejected = h.expectRejected(deposit('d-1', 0, 'BTC', 5), 'VALIDATE_ACCOUNT_INVALID');
    assert.deepEqual(
      { ...rejected, commandSequence: 0, eventSequence: 0, timestampMs: 0 },
      { type: 'CommandRejected', commandSequence: 0, eventSequence: 0, timestampMs: 0, commandType: CommandType.Deposit, reason: 101, accountId: 0, marketId: 0, transferId: 'd-1', detail: rejected.detail! },
    );
    h.expectRejected(deposit('d-1', -3, 'BTC', 5), 'VALIDATE_ACCOUNT_INVALID');
    h.expectRejected(deposit('d-1', 1, 'DOGE', 5), 'MARKET_ASSET_UNKNOWN');
    for (const amount of [0, -5, 1.5, 2 ** 53]) h.expectRejected(deposit('d-1', 1, 'BTC', amount), 'VALIDATE_AMOUNT_INVALID');
    for (const id of ['', 'has space', 'x'.repeat(65), 'slash/no']) h.expectRejected(deposit(id, 1, 'BTC', 5), 'VALIDATE_ID_INVALID');
    h.expectRejected(deposit('d-2', 1, 'BTC', Number.MAX_SAFE_INTEGER), 'RISK_BALANCE_OVERFLOW');
    // Up to the limit is fine.
    const room = Number.MAX_SAFE_INTEGER - supply(h, btc);
    assert.equal(h.payloads(deposit('d-3', 1, 'BTC', room))[0]!.type, 'Deposited');
    h.expectRejected(deposit('over-4', 2, 'BTC', 1), 'RISK_BALANCE_OVERFLOW');
  });
});

describeEngines('withdrawals', (factory) => {
  test('request holds, complete burns the hold and the supply, retries are duplicates', () => {
    const h = standardHarness(factory);
    const supplyBefore = supply(h, btc);
    assert.deepEqual(h.payloads(request('w-1', 1, 'BTC', 700)), [
      { type: 'WithdrawRequested', accountId: 1, assetId: btc, amountAtoms: 700, transferId: 'w-1' },
      balance(1, btc, btc0 - 700, 700),
    ]);
    assert.deepEqual(h.payloads(request('w-1', 1, 'BTC', 700)), [{ type: 'CommandDuplicate', commandType: CommandType.WithdrawRequest, accountId: 1, transferId: 'w-1' }]);
    h.expectRejected(request('w-1', 1, 'BTC', 701), 'TRANSFER_ID_CONFLICT');
    assert.deepEqual(h.payloads(complete('w-1')), [
      { type: 'WithdrawCompleted', accountId: 1, assetId: btc, amountAtoms: 700, transferId: 'w-1' },
      balance(1, btc, btc0 - 700, 0),
    ]);
    assert.equal(supply(h, btc), supplyBefore - 700);
    assert.deepEqual(h.payloads(complete('w-1')), [{ type: 'CommandDuplicate', commandType: CommandType.WithdrawComplete, accountId: 0, transferId: 'w-1' }]);
    h.expectRejected(cancel('w-1'), 'TRANSFER_NOT_PENDING');
  });

  test('cancel returns the hold; complete after cancel is not pending; deposits are never pending', () => {
    const h = standardHarness(factory);
    h.run(request('w-2', 2, 'USDT', 1234));
    assert.deepEqual(h.payloads(cancel('w-2')), [
      { type: 'WithdrawCanceled', accountId: 2, assetId: usdt, amountAtoms: 1234, transferId: 'w-2' },
      balance(2, usdt, 100_000_000, 0),
    ]);
    assert.equal(h.payloads(cancel('w-2'))[0]!.type, 'CommandDuplicate');
    h.expectRejected(complete('w-2'), 'TRANSFER_NOT_PENDING');
    h.expectRejected(complete('d-4'), 'TRANSFER_NOT_PENDING'); // a setup deposit id
    h.expectRejected(cancel('d-4'), 'TRANSFER_NOT_PENDING');
    h.expectRejected(complete('never'), 'TRANSFER_UNKNOWN');
    h.expectRejected(cancel('never'), 'TRANSFER_UNKNOWN');
    h.expectRejected(complete('bad id'), 'VALIDATE_ID_INVALID');
  });

  test('a request beyond the available balance is RISK_INSUFFICIENT_FUNDS; held funds do not count', () => {
    const h = standardHarness(factory);
    h.run(request('w-3', 3, 'BTC', btc0 - 10));
    h.expectRejected(request('w-4', 3, 'BTC', 11), 'RISK_INSUFFICIENT_FUNDS');
    h.expectRejected(request('w-5', 9, 'BTC', 1), 'RISK_INSUFFICIENT_FUNDS');
    h.expectRejected(request('w-6', -1, 'BTC', 1), 'VALIDATE_ACCOUNT_INVALID');
    h.expectRejected(request('w-7', 3, 'NOPE', 1), 'MARKET_ASSET_UNKNOWN');
    h.expectRejected(request('w-8', 3, 'BTC', 0), 'VALIDATE_AMOUNT_INVALID');
    assert.equal(h.payloads(request('w-9', 3, 'BTC', 10))[0]!.type, 'WithdrawRequested');
  });
});
