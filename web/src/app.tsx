// The app shell: header with navigation and session, toasts, and the route switch
// between the trading, account and admin screens.
import { useEffect } from 'preact/hooks';
import { linkHandler, navigate, usePath } from './lib/router.ts';
import { useStore } from './lib/store.ts';
import { post, web } from './lib/api.ts';
import {
  balances,
  loadMarkets,
  loadSession,
  loadTickers,
  markets,
  notices,
  notify,
  refreshBalances,
  refreshUnread,
  session,
  startTickerStream,
  startUserStream,
  stopUserStream,
  unreadCount,
  userStreamConnected,
} from './state.ts';
import { TradingScreen } from './trading/trading-screen.tsx';
import { AuthScreen } from './account/auth-screen.tsx';
import { AccountScreen } from './account/account-screen.tsx';
import { AdminScreen } from './admin/admin-screen.tsx';

function Header() {
  const path = usePath();
  const { user } = useStore(session);
  const unread = useStore(unreadCount);
  const live = useStore(userStreamConnected);
  const tab = (href: string, label: string, extra?: preact.ComponentChildren) => (
    <a href={href} onClick={linkHandler(href)} class={path.startsWith(href === '/trade' ? '/trade' : href) || (href === '/trade' && path === '/') ? 'active' : ''}>
      {label}
      {extra}
    </a>
  );
  const signOut = async (): Promise<void> => {
    await post(`${web}/signout`).catch(() => undefined);
    stopUserStream();
    session.set({ loaded: true, user: null });
    navigate('/trade');
  };
  return (
    <header class="topbar">
      <a class="brand" href="/" onClick={linkHandler('/trade')}>
        <span class="logo" />
        Bourse
      </a>
      <nav>
        {tab('/trade', 'Trade')}
        {user && tab('/account', 'Account', unread > 0 ? <span class="badge" data-testid="unread-badge">{unread}</span> : null)}
        {user?.isAdmin && tab('/admin', 'Admin')}
      </nav>
      <div class="session">
        {user ? (
          <>
            <span class={live ? 'dot live' : 'dot'} title={live ? 'Live account updates' : 'Account stream disconnected'} />
            <span class="muted" data-testid="user-email">{user.email}</span>
            <button class="ghost" onClick={signOut}>Sign out</button>
          </>
        ) : (
          <>
            <a href="/signin" onClick={linkHandler('/signin')} class="button ghost">Sign in</a>
            <a href="/signup" onClick={linkHandler('/signup')} class="button primary">Sign up</a>
          </>
        )}
      </div>
    </header>
  );
}

function Toasts() {
  const list = useStore(notices);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((notice) => (
        <div key={notice.id} class={`toast ${notice.kind}`}>
          {notice.text}
        </div>
      ))}
    </div>
  );
}

export function App() {
  const path = usePath();
  const { loaded, user } = useStore(session);

  useEffect(() => {
    void loadSession();
    loadMarkets()
      .then(() => {
        startTickerStream();
        return loadTickers();
      })
      .catch((error: Error) => notify(`Could not load markets: ${error.message}`, 'error'));
  }, []);

  useEffect(() => {
    if (!user) {
      // Nothing of the previous user stays on screen after a sign-out.
      balances.set([]);
      unreadCount.set(0);
      return;
    }
    void refreshBalances().catch(() => undefined);
    void refreshUnread().catch(() => undefined);
    startUserStream().catch((error: Error) => notify(`User stream unavailable: ${error.message}`, 'error'));
    return stopUserStream;
  }, [user?.userId]);

  const marketList = useStore(markets);
  let screen;
  if (path === '/signin' || path === '/signup') screen = <AuthScreen mode={path === '/signup' ? 'signup' : 'signin'} />;
  else if (path.startsWith('/account')) screen = loaded && !user ? <AuthScreen mode="signin" /> : <AccountScreen path={path} />;
  else if (path.startsWith('/admin')) screen = loaded && !user ? <AuthScreen mode="signin" /> : <AdminScreen path={path} />;
  else {
    const symbol = path.startsWith('/trade/') ? decodeURIComponent(path.slice('/trade/'.length)) : (marketList[0]?.symbol ?? '');
    screen = symbol ? <TradingScreen key={symbol} symbol={symbol} /> : <p class="empty-screen">Loading markets…</p>;
  }
  return (
    <div class="app">
      <Header />
      <main>{screen}</main>
      <Toasts />
    </div>
  );
}
