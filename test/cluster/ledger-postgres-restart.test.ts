// Restarts PostgreSQL mid-projection, so it is kept in its own file. The server restarted
// is a private PostgreSQL cluster this test creates (initdb, its own port and directory)
// and removes, so the shared server and other engineers' tests are never disturbed. The
// ledger writer is killed with SIGKILL under load, a new one starts, and PostgreSQL is
// restarted while it projects. After catch-up the database equals the engine: every
// balance, every order's state, every trade exactly once, and per-asset conservation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { PostgresDatabase } from '../../src/adapters/postgres.ts';
import { freePort, RoleProcess } from '../../src/cluster/processes.ts';
import { solvencyFromSql } from '../../src/services/ledger/index.ts';
import { EngineCluster, orderLoad, verifyLogs } from './engine-cluster.ts';
import { natsUrl, portOpen, requireService } from './services.ts';

/** How long the new ledger may take to catch up after PostgreSQL is back. */
const catchUpMsMax = 30_000;

/** A throw-away PostgreSQL cluster of the installed version, run as the postgres user. */
class PrivatePostgres {
  readonly directory = `/tmp/bourse-pg-${process.pid}-${Date.now().toString(36)}`;
  private readonly binaries = `/usr/lib/postgresql/${readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)).at(-1)}/bin`;
  constructor(readonly port: number) {}

  private run(binary: string, args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', `${this.binaries}/${binary}`, ...args], { stdio: 'ignore' });
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    execFileSync('install', ['-d', '-o', 'postgres', '-g', 'postgres', '-m', '700', this.directory]);
    this.run('initdb', ['-D', this.directory, '-U', 'postgres', '--auth=trust', '--no-sync']);
    this.pgCtl('start');
    await waitForPort(this.port);
  }

  pgCtl(action: 'start' | 'restart' | 'stop'): void {
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp -c fsync=on`;
    this.run('pg_ctl', ['-D', this.directory, '-l', `${this.directory}.log`, '-w', '-m', 'fast', '-o', options, action]);
  }

  destroy(): void {
    try {
      this.pgCtl('stop');
    } catch {
      // Already stopped.
    }
    rmSync(this.directory, { recursive: true, force: true });
    rmSync(`${this.directory}.log`, { force: true });
  }
}

async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen('127.0.0.1', port))) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL on port ${port} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('ledger writer killed and PostgreSQL restarted mid-projection', () => {
  const cluster = new EngineCluster(1500);
  let postgres: PrivatePostgres;
  let url = '';
  const ledgers: RoleProcess[] = [];

  before(async () => {
    await requireService('nats');
    await cluster.open();
    postgres = new PrivatePostgres(await freePort());
    await postgres.start();
    url = postgres.url;
  });

  after(async () => {
    for (const ledger of ledgers) await ledger.stop(3000);
    await cluster.close();
    postgres?.destroy();
  });

  async function startLedger(name: string): Promise<RoleProcess> {
    const ledger = new RoleProcess({
      role: 'ledger',
      name,
      healthPort: await freePort(),
      env: { BOURSE_CLUSTER: cluster.name, BOURSE_NATS_URL: natsUrl, BOURSE_DATABASE_URL: url, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
    });
    ledgers.push(ledger);
    await ledger.waitReady();
    return ledger;
  }

  test('after catch-up PostgreSQL equals the engine, no trade twice', { timeout: 120_000 }, async () => {
    await cluster.startEngine();
    await cluster.leader();
    await cluster.seed();
    const first = await startLedger('ledger-1');
    const load = orderLoad(cluster, 8);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await first.crash();
    const second = await startLedger('ledger-2');
    await new Promise((resolve) => setTimeout(resolve, 500));
    postgres.pgCtl('restart');
    await waitForPort(postgres.port);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await load.stop();
    assert.ok(second.running, 'the ledger survived the database restart');

    const { engine, events } = await verifyLogs(cluster, load.acknowledged);
    const db = await PostgresDatabase.open({ url });
    try {
      const deadline = Date.now() + catchUpMsMax;
      let projected = 0;
      while (Date.now() < deadline) {
        const state = await db.query<{ last_event_sequence: string }>(`SELECT last_event_sequence FROM projection_state WHERE consumer = 'ledger'`);
        projected = Number(state.rows[0]?.last_event_sequence ?? 0);
        if (projected >= events) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(projected, events, 'the ledger caught up with every event');
      // Balances equal the engine's, account by account.
      const rows = await db.query<{ account_id: string; asset_id: number; available_atoms: string; held_atoms: string }>('SELECT account_id, asset_id, available_atoms, held_atoms FROM balances');
      const sql = new Map(rows.rows.map((row) => [`${row.account_id}/${row.asset_id}`, `${row.available_atoms}/${row.held_atoms}`]));
      for (const balance of engine.balances()) {
        if (balance.availableAtoms === 0 && balance.heldAtoms === 0 && !sql.has(`${balance.accountId}/${balance.assetId}`)) continue;
        assert.equal(sql.get(`${balance.accountId}/${balance.assetId}`), `${balance.availableAtoms}/${balance.heldAtoms}`, `balance ${balance.accountId}/${balance.assetId}`);
      }
      // Every trade once: as many rows as trade ids the engine handed out, no gaps.
      const trades = await db.query<{ count: string; max: string | null }>('SELECT count(*) AS count, max(trade_id) AS max FROM trades');
      const tradesMade = engine.counters().nextTradeId - 1;
      assert.ok(tradesMade > 0, 'the load traded');
      assert.equal(Number(trades.rows[0]!.count), tradesMade);
      assert.equal(Number(trades.rows[0]!.max), tradesMade);
      // Open orders: the engine's resting orders are the projection's open ones.
      const open = await db.query<{ count: string }>(`SELECT count(*) AS count FROM orders WHERE status IN ('NEW', 'PARTIALLY_FILLED')`);
      const resting = engine.markets().reduce((sum, market) => sum + engine.bookOrders(market.marketId, 1).length + engine.bookOrders(market.marketId, 2).length, 0);
      assert.equal(Number(open.rows[0]!.count), resting);
      for (const row of await solvencyFromSql(db)) assert.ok(row.balanced, `conservation of ${row.asset} in PostgreSQL`);
    } finally {
      await db.close();
    }
  });
});
