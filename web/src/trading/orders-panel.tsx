// The user's side of the trading screen: open orders (cancel, cancel all), order
// history, trade history and balances. Lists are refetched whenever the user data stream
// reports a change (accountVersion), with a short debounce so a burst of fills costs one
// request per list.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, web } from '../lib/api.ts';
import { useStore } from '../lib/store.ts';
import { fixed } from '../lib/decimal.ts';
import { accountVersion, balances, notify, session, type MarketInfo, type OrderRow, type TradeRow } from '../state.ts';

export const historyRowsShown = 100;
const refetchDebounceMs = 150;

type Tab = 'open' | 'orders' | 'trades' | 'balances';

function useAccountList<T>(load: () => Promise<T[]>, key: string, enabled: boolean): [T[], string] {
  const version = useStore(accountVersion);
  const [rows, setRows] = useState<T[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    if (!enabled) {
      setRows([]);
      return;
    }
    let alive = true;
    const timer = setTimeout(() => {
      load().then(
        (list) => {
          if (!alive) return;
          setRows(list);
          setError('');
        },
        (failure: Error) => alive && setError(failure.message),
      );
    }, refetchDebounceMs);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [version, key, enabled]);
  return [rows, error];
}

function time(ms: number): string {
  const date = new Date(ms);
  return `${date.toLocaleDateString('en-CA')} ${date.toLocaleTimeString('en-GB')}`;
}

function typeLabel(type: string): string {
  return type === 'LIMIT_MAKER' ? 'Post only' : type.charAt(0) + type.slice(1).toLowerCase();
}

export function OrdersPanel({ market }: { market: MarketInfo }) {
  const { user } = useStore(session);
  const balanceList = useStore(balances);
  const [tab, setTab] = useState<Tab>('open');
  const signedIn = Boolean(user);
  const [openOrders, openError] = useAccountList<OrderRow>(() => get(`${web}/openOrders`, { symbol: market.symbol }), `${market.symbol}`, signedIn);
  const [orders] = useAccountList<OrderRow>(
    () => get<OrderRow[]>(`${web}/allOrders`, { symbol: market.symbol, limit: historyRowsShown }).then((list) => [...list].reverse()),
    `${market.symbol}:${tab}`,
    signedIn && tab === 'orders',
  );
  const [trades] = useAccountList<TradeRow>(
    () => get<TradeRow[]>(`${web}/myTrades`, { symbol: market.symbol, limit: historyRowsShown }).then((list) => [...list].reverse()),
    `${market.symbol}:${tab}`,
    signedIn && tab === 'trades',
  );

  const cancel = async (orderId: number): Promise<void> => {
    try {
      await del(`${web}/order`, { symbol: market.symbol, orderId });
      notify(`Order ${orderId} canceled`);
      accountVersion.update((version) => version + 1);
    } catch (failure) {
      notify(failure instanceof ApiError ? failure.message : String(failure), 'error');
    }
  };
  const cancelAll = async (): Promise<void> => {
    try {
      await del(`${web}/openOrders`, { symbol: market.symbol });
      notify(`All ${market.symbol} orders canceled`);
      accountVersion.update((version) => version + 1);
    } catch (failure) {
      notify(failure instanceof ApiError ? failure.message : String(failure), 'error');
    }
  };

  const tabs: [Tab, string][] = [
    ['open', `Open orders (${openOrders.length})`],
    ['orders', 'Order history'],
    ['trades', 'Trade history'],
    ['balances', 'Balances'],
  ];

  return (
    <section class="panel orders-panel">
      <div class="panel-head tabs">
        {tabs.map(([name, label]) => (
          <button key={name} class={tab === name ? 'tab on' : 'tab'} onClick={() => setTab(name)} data-testid={`tab-${name}`}>
            {label}
          </button>
        ))}
        {tab === 'open' && openOrders.length > 0 && (
          <button class="ghost small push" onClick={cancelAll} data-testid="cancel-all">
            Cancel all
          </button>
        )}
      </div>
      <div class="scroll">
        {!signedIn && <p class="muted pad">Sign in to see your orders and balances.</p>}
        {signedIn && tab === 'open' && (
          <table class="grid" data-testid="open-orders">
            <thead>
              <tr>
                <th>Time</th>
                <th>Side</th>
                <th>Type</th>
                <th class="num">Price</th>
                <th class="num">Amount</th>
                <th class="num">Filled</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {openOrders.map((order) => (
                <tr key={order.orderId} data-order-id={order.orderId}>
                  <td>{time(order.time)}</td>
                  <td class={order.side === 'BUY' ? 'up' : 'down'}>{order.side}</td>
                  <td>{typeLabel(order.type)}</td>
                  <td class="num">{fixed(order.price, market.priceDecimals)}</td>
                  <td class="num">{fixed(order.origQty, market.quantityDecimals)}</td>
                  <td class="num">{fixed(order.executedQty, market.quantityDecimals)}</td>
                  <td class="num">
                    <button class="ghost small" onClick={() => cancel(order.orderId)} data-testid={`cancel-${order.orderId}`}>
                      Cancel
                    </button>
                  </td>
                </tr>
              ))}
              {openOrders.length === 0 && (
                <tr>
                  <td colSpan={7} class="muted">
                    {openError || 'No open orders.'}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        )}
        {signedIn && tab === 'orders' && (
          <table class="grid" data-testid="order-history">
            <thead>
              <tr>
                <th>Time</th>
                <th>Side</th>
                <th>Type</th>
                <th class="num">Price</th>
                <th class="num">Amount</th>
                <th class="num">Filled</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {orders.map((order) => (
                <tr key={order.orderId} data-order-id={order.orderId}>
                  <td>{time(order.time)}</td>
                  <td class={order.side === 'BUY' ? 'up' : 'down'}>{order.side}</td>
                  <td>{typeLabel(order.type)}</td>
                  <td class="num">{order.type === 'MARKET' ? 'Market' : fixed(order.price, market.priceDecimals)}</td>
                  <td class="num">{fixed(order.origQty, market.quantityDecimals)}</td>
                  <td class="num">{fixed(order.executedQty, market.quantityDecimals)}</td>
                  <td>{order.status}</td>
                </tr>
              ))}
              {orders.length === 0 && (
                <tr>
                  <td colSpan={7} class="muted">
                    No orders yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        )}
        {signedIn && tab === 'trades' && (
          <table class="grid" data-testid="trade-history">
            <thead>
              <tr>
                <th>Time</th>
                <th>Side</th>
                <th class="num">Price</th>
                <th class="num">Amount</th>
                <th class="num">Total</th>
                <th class="num">Fee</th>
                <th>Role</th>
              </tr>
            </thead>
            <tbody>
              {trades.map((trade) => (
                <tr key={`${trade.id}-${trade.orderId}`}>
                  <td>{time(trade.time)}</td>
                  <td class={trade.isBuyer ? 'up' : 'down'}>{trade.isBuyer ? 'BUY' : 'SELL'}</td>
                  <td class="num">{fixed(trade.price, market.priceDecimals)}</td>
                  <td class="num">{fixed(trade.qty, market.quantityDecimals)}</td>
                  <td class="num">{fixed(trade.quoteQty, market.priceDecimals)}</td>
                  <td class="num">
                    {trade.commission} {trade.commissionAsset}
                  </td>
                  <td>{trade.isMaker ? 'Maker' : 'Taker'}</td>
                </tr>
              ))}
              {trades.length === 0 && (
                <tr>
                  <td colSpan={7} class="muted">
                    No trades yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        )}
        {signedIn && tab === 'balances' && <BalanceTable list={balanceList} />}
      </div>
    </section>
  );
}

export function BalanceTable({ list }: { list: { asset: string; free: string; locked: string }[] }) {
  return (
    <table class="grid" data-testid="balances">
      <thead>
        <tr>
          <th>Asset</th>
          <th class="num">Available</th>
          <th class="num">Held</th>
          <th class="num">Total</th>
        </tr>
      </thead>
      <tbody>
        {list.map((balance) => (
          <tr key={balance.asset} data-asset={balance.asset}>
            <td>{balance.asset}</td>
            <td class="num" data-testid={`free-${balance.asset}`}>
              {balance.free}
            </td>
            <td class="num" data-testid={`locked-${balance.asset}`}>
              {balance.locked}
            </td>
            <td class="num">{fixed(Number(balance.free) + Number(balance.locked), 8)}</td>
          </tr>
        ))}
        {list.length === 0 && (
          <tr>
            <td colSpan={4} class="muted">
              No balances yet. Deposits appear here.
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
