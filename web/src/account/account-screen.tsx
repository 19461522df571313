// The account area: balances overview, API keys (create with permissions, secret shown
// once, revoke), the notification inbox with unread count, and the webhook setting.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, post, put, web } from '../lib/api.ts';
import { linkHandler } from '../lib/router.ts';
import { useStore, usePolling } from '../lib/store.ts';
import { accountVersion, balances, notify, refreshUnread, session, unreadCount } from '../state.ts';
import { BalanceTable } from '../trading/orders-panel.tsx';

export const notificationsShown = 100;

interface ApiKeyRow {
  apiKey: string;
  permissions: string[];
  revoked: boolean;
  label?: string;
  createdAtMs?: number;
}

interface NotificationRow {
  id: number;
  kind: string;
  createdAt: number;
  readAt: number | null;
  payload: Record<string, unknown>;
}

function errorText(failure: unknown): string {
  return failure instanceof ApiError ? failure.message : String(failure);
}

function ApiKeys() {
  const [keys, reload, loadError] = usePolling<ApiKeyRow[]>(() => get<{ keys: ApiKeyRow[] }>(`${web}/api-keys`).then((answer) => answer.keys), 0, 'keys', []);
  const [canTrade, setCanTrade] = useState(true);
  const [created, setCreated] = useState<{ apiKey: string; secretKey: string } | null>(null);
  const [error, setError] = useState('');

  const create = async (): Promise<void> => {
    setError('');
    try {
      const answer = await post<{ apiKey: string; secretKey: string }>(`${web}/api-keys`, { permissions: canTrade ? ['read', 'trade'] : ['read'] });
      setCreated(answer);
      reload();
    } catch (failure) {
      setError(errorText(failure));
    }
  };
  const revoke = async (apiKey: string): Promise<void> => {
    try {
      await del(`${web}/api-keys/${encodeURIComponent(apiKey)}`);
      notify('API key revoked');
      if (created?.apiKey === apiKey) setCreated(null);
      reload();
    } catch (failure) {
      notify(errorText(failure), 'error');
    }
  };

  return (
    <div class="section" data-testid="api-keys">
      <div class="panel-head">
        <h2>API keys</h2>
      </div>
      <div class="section-body">
        <p class="muted small">
          Keys sign requests to the Binance-compatible REST API (<code>X-MBX-APIKEY</code>, HMAC-SHA256). Every key can read; trading is optional.
        </p>
        <div class="row">
          <div class="checks">
            <label>
              <input type="checkbox" checked disabled /> Read
            </label>
            <label>
              <input type="checkbox" checked={canTrade} onChange={(event) => setCanTrade(event.currentTarget.checked)} data-testid="perm-trade" /> Trade
            </label>
          </div>
          <button class="primary" onClick={create} data-testid="create-key">
            Create API key
          </button>
        </div>
        {error && <p class="error">{error}</p>}
        {created && (
          <div class="secret" data-testid="new-key">
            <div>
              API key: <span data-testid="new-api-key">{created.apiKey}</span>
            </div>
            <div>
              Secret: <span data-testid="new-secret">{created.secretKey}</span>
            </div>
            <p class="muted small">Copy the secret now: it is shown only once.</p>
            <button class="small" onClick={() => setCreated(null)}>
              I saved it
            </button>
          </div>
        )}
        <table class="grid">
          <thead>
            <tr>
              <th>API key</th>
              <th>Permissions</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.apiKey} data-api-key={key.apiKey}>
                <td class="num" style={{ textAlign: 'left' }}>
                  {key.apiKey.slice(0, 12)}…{key.apiKey.slice(-6)}
                </td>
                <td>{key.permissions.join(', ')}</td>
                <td>{key.revoked ? <span class="tag warn">revoked</span> : <span class="tag good">active</span>}</td>
                <td class="num">
                  {!key.revoked && (
                    <button class="danger small" onClick={() => revoke(key.apiKey)} data-testid="revoke-key">
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {keys.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">
                  {loadError || 'No API keys yet.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

const executionLabels: Record<string, string> = {
  NEW: 'placed',
  CANCELED: 'canceled',
  EXPIRED: 'expired',
  REJECTED: 'rejected',
  TRADE: 'filled',
  AMENDMENT: 'amended',
};

/** One line for a notification: execution reports (orders, fills) and transfers. */
export function notificationText(row: NotificationRow): string {
  const payload = row.payload ?? {};
  const text = (name: string): string => String(payload[name] ?? '');
  const trim = (value: string): string => (value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value);
  if (row.kind === 'fill') return `${text('S') === 'BUY' ? 'Bought' : 'Sold'} ${trim(text('l'))} ${text('s')} at ${trim(text('L'))} (order ${text('i')}, ${text('X').toLowerCase().replace('_', ' ')})`;
  if (row.kind === 'order') {
    const what = executionLabels[text('x')] ?? text('x').toLowerCase();
    const price = text('o') === 'MARKET' ? 'market' : trim(text('p'));
    return `Order ${text('i')} ${what}: ${text('S')} ${trim(text('q'))} ${text('s')} at ${price}`;
  }
  if (row.kind === 'deposit') return `Deposit of ${trim(text('amount'))} ${text('asset')} ${text('status').toLowerCase()}`;
  if (row.kind === 'withdrawal') return `Withdrawal of ${trim(text('amount'))} ${text('asset')} ${text('status').toLowerCase()}`;
  return JSON.stringify(payload);
}

function Notifications() {
  const version = useStore(accountVersion);
  const unread = useStore(unreadCount);
  const [rows, reload, loadError] = usePolling<NotificationRow[]>(
    () => get<NotificationRow[]>(`${web}/notifications`, { limit: notificationsShown }),
    0,
    version,
    [],
  );
  const markRead = async (ids: number[] | 'all'): Promise<void> => {
    try {
      await post(`${web}/notifications/read`, ids === 'all' ? { all: true } : { ids });
      reload();
      void refreshUnread();
    } catch (failure) {
      notify(errorText(failure), 'error');
    }
  };
  return (
    <div class="section" data-testid="notifications">
      <div class="panel-head">
        <h2>
          Notifications <span class="muted" data-testid="unread-count">({unread} unread)</span>
        </h2>
        <button class="small" onClick={() => markRead('all')} disabled={unread === 0} data-testid="mark-all-read">
          Mark all read
        </button>
      </div>
      <div>
        {rows.map((row) => (
          <div key={row.id} class={row.readAt !== null ? 'notice-row' : 'notice-row unread'} data-testid="notification" data-kind={row.kind}>
            <span class="dot" />
            <span>
              <span class="tag">{row.kind}</span> {notificationText(row)}
            </span>
            <span class="muted small">
              {new Date(row.createdAt).toLocaleString('en-GB')}
              {row.readAt === null && (
                <button class="ghost small" onClick={() => markRead([row.id])}>
                  Mark read
                </button>
              )}
            </span>
          </div>
        ))}
        {rows.length === 0 && <p class="muted pad">{loadError || 'No notifications yet. Orders, fills, deposits and withdrawals appear here.'}</p>}
      </div>
    </div>
  );
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function Webhook() {
  const [url, setUrl] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const [secret, setSecret] = useState('');
  const [status, setStatus] = useState('');
  // The form stays disabled until the saved URL is in, so nothing typed is overwritten by it.
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    get<{ url: string | null }>(`${web}/webhook`)
      .then((answer) => {
        setUrl(answer.url ?? '');
        setSaved(answer.url);
      })
      .catch((failure) => setStatus(errorText(failure)))
      .finally(() => setLoaded(true));
  }, []);
  const save = async (event: Event): Promise<void> => {
    event.preventDefault();
    const signingSecret = secret || randomSecret();
    try {
      await put(`${web}/webhook`, { url: url.trim(), secret: signingSecret });
      setSaved(url.trim());
      setSecret(signingSecret);
      setStatus('Webhook saved. Copy the signing secret now: it is not shown again.');
    } catch (failure) {
      setStatus(errorText(failure));
    }
  };
  const remove = async (): Promise<void> => {
    try {
      await del(`${web}/webhook`);
      setSaved(null);
      setUrl('');
      setSecret('');
      setStatus('Webhook removed.');
    } catch (failure) {
      setStatus(errorText(failure));
    }
  };
  return (
    <form class="section" onSubmit={save} data-testid="webhook">
      <div class="panel-head">
        <h2>Webhook</h2>
        {saved && <span class="tag good">active</span>}
      </div>
      <fieldset class="section-body" disabled={!loaded}>
        <p class="muted small">
          Every notification is also POSTed to this URL, signed with HMAC-SHA256 over the body using your signing secret, so you can verify it came from
          us. Failed deliveries are retried with exponential backoff.
        </p>
        <div class="row">
          <label>
            URL
            <input type="url" name="url" placeholder="https://example.com/bourse-hook" value={url} onInput={(event) => setUrl(event.currentTarget.value)} />
          </label>
          <label>
            Signing secret (blank: generate one)
            <input name="secret" autocomplete="off" value={secret} onInput={(event) => setSecret(event.currentTarget.value.trim())} />
          </label>
          <button class="primary" type="submit">
            Save
          </button>
          {saved && (
            <button class="danger" type="button" onClick={remove}>
              Remove
            </button>
          )}
        </div>
        {status && <p class="small" data-testid="webhook-status">{status}</p>}
      </fieldset>
    </form>
  );
}

export function AccountScreen({ path }: { path: string }) {
  const { user } = useStore(session);
  const unread = useStore(unreadCount);
  const balanceList = useStore(balances);
  const section = path.split('/')[2] ?? 'overview';
  const link = (name: string, label: string, extra?: preact.ComponentChildren) => {
    const href = name === 'overview' ? '/account' : `/account/${name}`;
    return (
      <a href={href} onClick={linkHandler(href)} class={section === name ? 'active' : ''}>
        {label}
        {extra}
      </a>
    );
  };
  if (!user) return <p class="empty-screen">Loading…</p>;
  return (
    <div class="page">
      <nav class="side-nav">
        {link('overview', 'Overview')}
        {link('keys', 'API keys')}
        {link('notifications', 'Notifications', unread > 0 ? <span class="badge">{unread}</span> : null)}
        {link('webhook', 'Webhook')}
      </nav>
      <div class="content">
        {section === 'overview' && (
          <>
            <div class="section">
              <div class="panel-head">
                <h2>{user.email}</h2>
                <span class="muted small">
                  Account #{user.accountId}
                  {user.isAdmin && <span class="tag good">admin</span>}
                </span>
              </div>
              <BalanceTable list={balanceList} />
            </div>
            <Notifications />
          </>
        )}
        {section === 'keys' && <ApiKeys />}
        {section === 'notifications' && <Notifications />}
        {section === 'webhook' && <Webhook />}
      </div>
    </div>
  );
}
