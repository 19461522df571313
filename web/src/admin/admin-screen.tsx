// The operator's screens: markets (create, halt, resume, fees), users, deposits and
// withdrawals, the solvency report and a live system view. Every call goes through the
// web session's admin bridge (/api/v1/web/admin/... -> /admin/v1/...), so the admin
// token never reaches the browser; the server checks that the session's user is an admin.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, request, web } from '../lib/api.ts';
import { linkHandler } from '../lib/router.ts';
import { useStore, usePolling } from '../lib/store.ts';
import { loadMarkets, markets, notify, session } from '../state.ts';

const admin = `${web}/admin`;
export const systemPollIntervalMs = 2000;
export const systemHistoryPoints = 60;

function errorText(failure: unknown): string {
  return failure instanceof ApiError ? `${failure.message}${failure.code ? ` (${failure.code})` : ''}` : String(failure);
}

async function run(action: () => Promise<unknown>, success: string): Promise<boolean> {
  try {
    await action();
    notify(success, 'success');
    return true;
  } catch (failure) {
    notify(errorText(failure), 'error');
    return false;
  }
}

interface AdminMarket {
  symbol: string;
  status: string;
  baseAsset: string;
  quoteAsset: string;
  makerFeeBps?: number;
  takerFeeBps?: number;
  tickSize?: string;
  stepSize?: string;
}

function Markets() {
  const [list, reload, loadError] = usePolling<AdminMarket[]>(
    () => get<AdminMarket[] | { markets: AdminMarket[] }>(`${admin}/markets`).then((answer) => (Array.isArray(answer) ? answer : answer.markets)),
    0,
    'markets',
    [],
  );
  const [form, setForm] = useState({ baseAsset: '', quoteAsset: 'USDT', tickSize: '0.01', stepSize: '0.0001', minQty: '0.0001', maxQty: '1000', minNotional: '5', maxPrice: '1000000', makerFeeBps: '10', takerFeeBps: '10' });
  const [fees, setFees] = useState<Record<string, { maker: string; taker: string }>>({});
  const field = (name: keyof typeof form, label: string) => (
    <label>
      {label}
      <input value={form[name]} onInput={(event) => setForm({ ...form, [name]: event.currentTarget.value.trim() })} name={name} />
    </label>
  );
  const refresh = (): void => {
    reload();
    void loadMarkets();
  };
  const create = async (event: Event): Promise<void> => {
    event.preventDefault();
    const ok = await run(
      () =>
        post(`${admin}/markets`, {
          symbol: `${form.baseAsset}${form.quoteAsset}`,
          ...form,
          makerFeeBps: Number(form.makerFeeBps),
          takerFeeBps: Number(form.takerFeeBps),
        }),
      `Market ${form.baseAsset}${form.quoteAsset} created`,
    );
    if (ok) refresh();
  };
  const action = async (symbol: string, verb: 'halt' | 'resume'): Promise<void> => {
    if (await run(() => post(`${admin}/markets/${symbol}/${verb}`), `${symbol} ${verb === 'halt' ? 'halted' : 'resumed'}`)) refresh();
  };
  const saveFees = async (market: AdminMarket): Promise<void> => {
    const entry = fees[market.symbol];
    if (!entry) return;
    if (
      await run(
        () => request('PUT', `${admin}/markets/${market.symbol}/fees`, { body: { makerFeeBps: Number(entry.maker), takerFeeBps: Number(entry.taker) } }),
        `Fees of ${market.symbol} updated`,
      )
    )
      refresh();
  };
  return (
    <>
      <div class="section" data-testid="admin-markets">
        <div class="panel-head">
          <h2>Markets</h2>
        </div>
        <table class="grid">
          <thead>
            <tr>
              <th>Symbol</th>
              <th>Status</th>
              <th class="num">Tick</th>
              <th class="num">Step</th>
              <th class="num">Maker bps</th>
              <th class="num">Taker bps</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((market) => {
              const entry = fees[market.symbol] ?? { maker: String(market.makerFeeBps ?? ''), taker: String(market.takerFeeBps ?? '') };
              return (
                <tr key={market.symbol} data-symbol={market.symbol}>
                  <td>{market.symbol}</td>
                  <td>{market.status === 'TRADING' ? <span class="tag good">trading</span> : <span class="tag warn">{market.status.toLowerCase()}</span>}</td>
                  <td class="num">{market.tickSize ?? ''}</td>
                  <td class="num">{market.stepSize ?? ''}</td>
                  <td class="num">
                    <input size={4} value={entry.maker} onInput={(event) => setFees({ ...fees, [market.symbol]: { ...entry, maker: event.currentTarget.value } })} />
                  </td>
                  <td class="num">
                    <input size={4} value={entry.taker} onInput={(event) => setFees({ ...fees, [market.symbol]: { ...entry, taker: event.currentTarget.value } })} />
                  </td>
                  <td class="num">
                    <button class="small" onClick={() => saveFees(market)} disabled={!fees[market.symbol]}>
                      Save fees
                    </button>{' '}
                    {market.status === 'TRADING' ? (
                      <button class="danger small" onClick={() => action(market.symbol, 'halt')} data-testid={`halt-${market.symbol}`}>
                        Halt
                      </button>
                    ) : (
                      <button class="small" onClick={() => action(market.symbol, 'resume')} data-testid={`resume-${market.symbol}`}>
                        Resume
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
            {list.length === 0 && (
              <tr>
                <td colSpan={7} class="muted">
                  {loadError || 'No markets.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Assets />
      <form class="section" onSubmit={create}>
        <div class="panel-head">
          <h2>Create market</h2>
        </div>
        <div class="section-body">
          <div class="row">
            {field('baseAsset', 'Base asset')}
            {field('quoteAsset', 'Quote asset')}
            {field('tickSize', 'Tick size')}
            {field('stepSize', 'Step size')}
            {field('maxPrice', 'Max price')}
          </div>
          <div class="row">
            {field('minQty', 'Min quantity')}
            {field('maxQty', 'Max quantity')}
            {field('minNotional', 'Min notional')}
            {field('makerFeeBps', 'Maker fee (bps)')}
            {field('takerFeeBps', 'Taker fee (bps)')}
            <button class="primary" type="submit">
              Create
            </button>
          </div>
        </div>
      </form>
    </>
  );
}

interface AdminAsset {
  asset: string;
  assetId: number;
  scale: number;
  supply: string;
}

function Assets() {
  const [list, reload, loadError] = usePolling<AdminAsset[]>(() => get<AdminAsset[]>(`${admin}/assets`), 0, 'assets', []);
  const [code, setCode] = useState('');
  const [scale, setScale] = useState('8');
  const create = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (await run(() => post(`${admin}/assets`, { asset: code.toUpperCase(), scale: Number(scale) }), `Asset ${code.toUpperCase()} added`)) {
      setCode('');
      reload();
    }
  };
  return (
    <form class="section" onSubmit={create} data-testid="admin-assets">
      <div class="panel-head">
        <h2>Assets</h2>
      </div>
      <div class="section-body">
        <table class="grid">
          <thead>
            <tr>
              <th>Asset</th>
              <th class="num">Decimals</th>
              <th class="num">Supply (deposits − withdrawals)</th>
            </tr>
          </thead>
          <tbody>
            {list.map((asset) => (
              <tr key={asset.asset}>
                <td>{asset.asset}</td>
                <td class="num">{asset.scale}</td>
                <td class="num">{asset.supply}</td>
              </tr>
            ))}
            {list.length === 0 && (
              <tr>
                <td colSpan={3} class="muted">
                  {loadError || 'No assets.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <div class="row">
          <label>
            Code
            <input value={code} onInput={(event) => setCode(event.currentTarget.value.trim())} />
          </label>
          <label>
            Decimals (0-18)
            <input value={scale} onInput={(event) => setScale(event.currentTarget.value.trim())} />
          </label>
          <button class="primary" type="submit">
            Add asset
          </button>
        </div>
      </div>
    </form>
  );
}

interface AdminUser {
  userId?: number;
  id?: number;
  email: string;
  isAdmin?: boolean;
  createdAtMs?: number;
}

function Users() {
  const [list, reload, loadError] = usePolling<AdminUser[]>(
    () => get<AdminUser[] | { users: AdminUser[] }>(`${admin}/users`).then((answer) => (Array.isArray(answer) ? answer : answer.users)),
    0,
    'users',
    [],
  );
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [isAdmin, setIsAdmin] = useState(false);
  const create = async (event: Event): Promise<void> => {
    event.preventDefault();
    const body: Record<string, unknown> = { email, isAdmin };
    if (password) body.password = password;
    if (await run(() => post(`${admin}/users`, body), `User ${email} created`)) {
      setEmail('');
      setPassword('');
      reload();
    }
  };
  return (
    <>
      <div class="section" data-testid="admin-users">
        <div class="panel-head">
          <h2>Users</h2>
          <button class="small" onClick={reload}>
            Refresh
          </button>
        </div>
        <table class="grid">
          <thead>
            <tr>
              <th>Id (account)</th>
              <th>Email</th>
              <th>Role</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {list.map((user) => (
              <tr key={user.userId ?? user.id} data-email={user.email}>
                <td>{user.userId ?? user.id}</td>
                <td>{user.email}</td>
                <td>{user.isAdmin ? <span class="tag good">admin</span> : 'trader'}</td>
                <td class="muted">{user.createdAtMs ? new Date(user.createdAtMs).toLocaleString('en-GB') : ''}</td>
              </tr>
            ))}
            {list.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">
                  {loadError || 'No users.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <form class="section" onSubmit={create}>
        <div class="panel-head">
          <h2>Create user</h2>
        </div>
        <div class="section-body row">
          <label>
            Email
            <input type="email" value={email} onInput={(event) => setEmail(event.currentTarget.value)} />
          </label>
          <label>
            Password (optional)
            <input type="password" autocomplete="new-password" value={password} onInput={(event) => setPassword(event.currentTarget.value)} />
          </label>
          <div class="checks">
            <label>
              <input type="checkbox" checked={isAdmin} onChange={(event) => setIsAdmin(event.currentTarget.checked)} /> Admin
            </label>
          </div>
          <button class="primary" type="submit">
            Create
          </button>
        </div>
      </form>
    </>
  );
}

function Funds() {
  const [form, setForm] = useState({ email: '', asset: 'USDT', amount: '', transferId: '' });
  const [withdrawal, setWithdrawal] = useState({ email: '', asset: 'USDT', amount: '', transferId: '' });
  const [pending, setPending] = useState<{ transferId: string; text: string }[]>([]);
  const [manualId, setManualId] = useState('');
  const [users] = usePolling<AdminUser[]>(
    () => get<AdminUser[] | { users: AdminUser[] }>(`${admin}/users`).then((answer) => (Array.isArray(answer) ? answer : answer.users)),
    0,
    'funds-users',
    [],
  );
  const marketList = useStore(markets);
  const assets = [...new Set(marketList.flatMap((market) => [market.baseAsset, market.quoteAsset]))].sort();
  const userId = (email: string): number | undefined => {
    const user = users.find((entry) => entry.email === email.trim());
    return user ? (user.userId ?? user.id) : undefined;
  };
  const newTransferId = (): string => `web-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const send = async (kind: 'deposits' | 'withdrawals', entry: typeof form, reset: () => void): Promise<void> => {
    const id = userId(entry.email);
    if (id === undefined) {
      notify(`No user with email ${entry.email}`, 'error');
      return;
    }
    const transferId = entry.transferId.trim() || newTransferId();
    const ok = await run(
      () => post(`${admin}/${kind}`, { userId: id, asset: entry.asset, amount: entry.amount.trim(), transferId }),
      `${kind === 'deposits' ? 'Deposit' : 'Withdrawal'} ${transferId}: ${entry.amount} ${entry.asset} for ${entry.email}`,
    );
    if (ok) {
      reset();
      if (kind === 'withdrawals') setPending((list) => [...list, { transferId, text: `${entry.amount} ${entry.asset} for ${entry.email}` }]);
    }
  };
  const transferForm = (kind: 'deposits' | 'withdrawals', entry: typeof form, set: (value: typeof form) => void) => (
    <form
      class="section"
      data-testid={`admin-${kind}`}
      onSubmit={(event) => {
        event.preventDefault();
        void send(kind, entry, () => set({ ...entry, amount: '', transferId: '' }));
      }}
    >
      <div class="panel-head">
        <h2>{kind === 'deposits' ? 'Credit a deposit' : 'Withdraw funds'}</h2>
      </div>
      <div class="section-body row">
        <label>
          User email
          <input type="email" name="email" list="admin-user-emails" value={entry.email} onInput={(event) => set({ ...entry, email: event.currentTarget.value })} />
        </label>
        <label>
          Asset
          <select name="asset" value={entry.asset} onChange={(event) => set({ ...entry, asset: event.currentTarget.value })}>
            {assets.map((asset) => (
              <option key={asset}>{asset}</option>
            ))}
          </select>
        </label>
        <label>
          Amount
          <input name="amount" inputMode="decimal" value={entry.amount} onInput={(event) => set({ ...entry, amount: event.currentTarget.value })} />
        </label>
        <label>
          Transfer id (idempotency)
          <input name="transferId" placeholder="generated" value={entry.transferId} onInput={(event) => set({ ...entry, transferId: event.currentTarget.value })} />
        </label>
        <button class="primary" type="submit">
          {kind === 'deposits' ? 'Deposit' : 'Withdraw'}
        </button>
      </div>
    </form>
  );
  const settle = async (transferId: string, verb: 'complete' | 'cancel'): Promise<void> => {
    if (await run(() => post(`${admin}/withdrawals/${encodeURIComponent(transferId)}/${verb}`), `Withdrawal ${transferId} ${verb === 'complete' ? 'completed' : 'canceled'}`)) {
      setPending((list) => list.filter((entry) => entry.transferId !== transferId));
    }
  };
  return (
    <>
      <datalist id="admin-user-emails">
        {users.map((user) => (
          <option key={user.email} value={user.email} />
        ))}
      </datalist>
      {transferForm('deposits', form, setForm)}
      {transferForm('withdrawals', withdrawal, setWithdrawal)}
      <div class="section" data-testid="pending-withdrawals">
        <div class="panel-head">
          <h2>Pending withdrawals</h2>
        </div>
        <div class="section-body">
          <p class="muted small">A withdrawal holds the funds until it is completed (paid out) or canceled (funds released).</p>
          <table class="grid">
            <tbody>
              {pending.map((entry) => (
                <tr key={entry.transferId}>
                  <td>{entry.transferId}</td>
                  <td>{entry.text}</td>
                  <td class="num">
                    <button class="small" onClick={() => settle(entry.transferId, 'complete')}>
                      Complete
                    </button>{' '}
                    <button class="danger small" onClick={() => settle(entry.transferId, 'cancel')}>
                      Cancel
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="row">
            <label>
              Transfer id
              <input value={manualId} onInput={(event) => setManualId(event.currentTarget.value.trim())} />
            </label>
            <button class="small" onClick={() => manualId && settle(manualId, 'complete')}>
              Complete
            </button>
            <button class="danger small" onClick={() => manualId && settle(manualId, 'cancel')}>
              Cancel
            </button>
          </div>
        </div>
      </div>
    </>
  );
}

interface SolvencyRow {
  asset: string;
  depositsMinusWithdrawals?: string;
  balancesPlusHolds?: string;
  held?: string;
  supplyAtoms?: string;
  balancesAtoms?: string;
  balanced: boolean;
}

interface SolvencyReport {
  balanced: boolean;
  engine: SolvencyRow[];
  projection: SolvencyRow[] | null;
}

function Solvency() {
  const [report, reload, loadError] = usePolling<SolvencyReport | null>(() => get<SolvencyReport>(`${admin}/solvency`), 0, 'solvency', null);
  const flag = (value: boolean) => (value ? <span class="tag good">balanced</span> : <span class="tag warn">MISMATCH</span>);
  return (
    <div class="section" data-testid="admin-solvency">
      <div class="panel-head">
        <h2>
          Solvency report {report && <span data-testid="solvency-overall">{flag(report.balanced)}</span>}
        </h2>
        <button class="small" onClick={reload}>
          Refresh
        </button>
      </div>
      <div class="section-body">
        <p class="muted small">Per asset, in the engine: deposits minus withdrawals must equal the sum of every balance plus every hold (fees included).</p>
        {loadError && <p class="error">{loadError}</p>}
        <table class="grid">
          <thead>
            <tr>
              <th>Asset</th>
              <th class="num">Deposits − withdrawals</th>
              <th class="num">Balances + holds</th>
              <th class="num">Held by orders</th>
              <th>Engine</th>
              <th>Database projection</th>
            </tr>
          </thead>
          <tbody>
            {(report?.engine ?? []).map((row) => {
              const projected = report?.projection?.find((entry) => entry.asset === row.asset);
              return (
                <tr key={row.asset} data-asset={row.asset}>
                  <td>{row.asset}</td>
                  <td class="num">{row.depositsMinusWithdrawals}</td>
                  <td class="num">{row.balancesPlusHolds}</td>
                  <td class="num">{row.held}</td>
                  <td>{flag(row.balanced)}</td>
                  <td>{projected ? flag(projected.balanced) : <span class="muted">—</span>}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

interface SystemSummary {
  commandRatePerSecond: number;
  engineLagCommands: number;
  connectedClients: number;
  httpRatePerSecond: number;
  consumerLagEvents: Record<string, number>;
  eventLoopLagMs: number;
  residentMemoryBytes: number;
  lastCommandSequence: number;
  uptimeSeconds: number;
  metricsAvailable: boolean;
  ratesAvailable: boolean;
}

function Sparkline({ points, color }: { points: number[]; color: string }) {
  const max = Math.max(1, ...points);
  const path = points.map((value, index) => `${(index / Math.max(1, systemHistoryPoints - 1)) * 100},${36 - (value / max) * 34}`).join(' ');
  return (
    <svg class="spark" viewBox="0 0 100 36" preserveAspectRatio="none">
      <polyline points={path} fill="none" stroke={color} stroke-width="1.5" vector-effect="non-scaling-stroke" />
    </svg>
  );
}

function System() {
  const [summary, setSummary] = useState<SystemSummary | null>(null);
  const [error, setError] = useState('');
  const history = useRef<{ commands: number[]; lag: number[]; clients: number[] }>({ commands: [], lag: [], clients: [] });
  useEffect(() => {
    let alive = true;
    const load = (): void => {
      get<SystemSummary>(`${web}/admin-system`).then(
        (answer) => {
          if (!alive) return;
          const series = history.current;
          for (const [key, value] of [
            ['commands', answer.commandRatePerSecond],
            ['lag', answer.engineLagCommands],
            ['clients', answer.connectedClients],
          ] as const) {
            series[key].push(value);
            if (series[key].length > systemHistoryPoints) series[key].shift();
          }
          setSummary(answer);
          setError('');
        },
        (failure: Error) => alive && setError(failure.message),
      );
    };
    load();
    const timer = setInterval(load, systemPollIntervalMs);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, []);
  const kpi = (label: string, value: string, testId: string, points?: number[], color = '#f0b90b') => (
    <div class="kpi" data-testid={testId}>
      <span class="muted">{label}</span>
      <strong>{value}</strong>
      {points && <Sparkline points={points} color={color} />}
    </div>
  );
  return (
    <div class="section" data-testid="admin-system">
      <div class="panel-head">
        <h2>Live system</h2>
        <span class="muted small">refreshes every {systemPollIntervalMs / 1000} s</span>
      </div>
      <div class="section-body">
        {error && <p class="error">{error}</p>}
        {summary && !summary.metricsAvailable && <p class="muted small">This process runs without a metrics registry: only engine and process figures are shown.</p>}
        {summary && (
          <>
            <div class="kpis">
              {kpi('Commands / s', summary.ratesAvailable ? summary.commandRatePerSecond.toFixed(1) : '…', 'kpi-commands', history.current.commands)}
              {kpi('Engine lag (commands)', summary.metricsAvailable ? String(summary.engineLagCommands) : 'n/a', 'kpi-lag', history.current.lag, '#f6465d')}
              {kpi('Connected clients', summary.metricsAvailable ? String(summary.connectedClients) : 'n/a', 'kpi-clients', history.current.clients, '#2ebd85')}
              {kpi('HTTP requests / s', !summary.metricsAvailable ? 'n/a' : summary.ratesAvailable ? summary.httpRatePerSecond.toFixed(1) : '…', 'kpi-http')}
              {kpi('Event loop lag', `${summary.eventLoopLagMs.toFixed(1)} ms`, 'kpi-loop')}
              {kpi('Memory (RSS)', `${(summary.residentMemoryBytes / 1048576).toFixed(0)} MB`, 'kpi-memory')}
              {kpi('Last command', String(summary.lastCommandSequence), 'kpi-sequence')}
              {kpi('Uptime', `${Math.floor(summary.uptimeSeconds / 60)} min`, 'kpi-uptime')}
            </div>
            <table class="grid">
              <thead>
                <tr>
                  <th>Consumer</th>
                  <th class="num">Lag (events)</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(summary.consumerLagEvents).map(([name, lag]) => (
                  <tr key={name}>
                    <td>{name}</td>
                    <td class="num">{lag}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </div>
    </div>
  );
}

/** Shown to a signed-in non-admin: an operator can elevate the account once with the admin token. */
export function AdminClaim() {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const claim = async (event: Event): Promise<void> => {
    event.preventDefault();
    try {
      const answer = await post<{ user: { userId: number; accountId: number; email: string; isAdmin: boolean } }>(`${web}/admin-claim`, { token });
      session.set({ loaded: true, user: answer.user });
      setToken('');
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  return (
    <div class="auth">
      <form class="card" onSubmit={claim} data-testid="admin-claim">
        <h1>Admin access</h1>
        <p class="muted">This account is not an administrator. An operator can make it one by entering the server's admin token (BOURSE_ADMIN_TOKEN) once; the token is not stored in the browser.</p>
        <label>
          Admin token
          <input type="password" name="token" autocomplete="off" value={token} onInput={(event) => setToken(event.currentTarget.value)} />
        </label>
        {error && <p class="error">{error}</p>}
        <button class="primary wide" type="submit">
          Make this account an admin
        </button>
      </form>
    </div>
  );
}

export function AdminScreen({ path }: { path: string }) {
  const { user } = useStore(session);
  const section = path.split('/')[2] ?? 'markets';
  if (!user) return <p class="empty-screen">Loading…</p>;
  if (!user.isAdmin) return <AdminClaim />;
  const link = (name: string, label: string) => (
    <a href={`/admin/${name}`} onClick={linkHandler(`/admin/${name}`)} class={section === name ? 'active' : ''}>
      {label}
    </a>
  );
  return (
    <div class="page">
      <nav class="side-nav">
        {link('markets', 'Markets')}
        {link('users', 'Users')}
        {link('funds', 'Deposits & withdrawals')}
        {link('solvency', 'Solvency')}
        {link('system', 'System')}
      </nav>
      <div class="content">
        {section === 'markets' && <Markets />}
        {section === 'users' && <Users />}
        {section === 'funds' && <Funds />}
        {section === 'solvency' && <Solvency />}
        {section === 'system' && <System />}
      </div>
    </div>
  );
}
