// Recent public trades: the last page from /api/v3/trades, then live from `<symbol>@trade`.
import { useEffect, useState } from 'preact/hooks';
import { get } from '../lib/api.ts';
import { combinedStream } from '../lib/streams.ts';
import { fixed } from '../lib/decimal.ts';
import { refreshAccountSoon, type MarketInfo } from '../state.ts';

export const recentTradesShown = 60;

interface PublicTrade {
  id: number;
  price: string;
  qty: string;
  time: number;
  isBuyerMaker: boolean;
}

interface TradeEvent {
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
}

export function RecentTrades({ market, onPrice }: { market: MarketInfo; onPrice: (price: string) => void }) {
  const [trades, setTrades] = useState<PublicTrade[]>([]);

  useEffect(() => {
    let alive = true;
    const seen = new Set<number>();
    const add = (incoming: PublicTrade[]): void => {
      const fresh = incoming.filter((trade) => !seen.has(trade.id));
      for (const trade of fresh) seen.add(trade.id);
      if (fresh.length === 0) return;
      setTrades((list) => [...fresh, ...list].sort((left, right) => right.id - left.id).slice(0, recentTradesShown));
    };
    const stream = combinedStream([`${market.symbol.toLowerCase()}@trade`], {
      onMessage: (_name, data) => {
        const event = data as TradeEvent;
        if (typeof event?.t !== 'number') return;
        add([{ id: event.t, price: event.p, qty: event.q, time: event.T, isBuyerMaker: event.m }]);
        refreshAccountSoon();
      },
      onOpen: () => {
        get<PublicTrade[]>('/api/v3/trades', { symbol: market.symbol, limit: recentTradesShown })
          .then((list) => alive && add(list))
          .catch(() => undefined);
      },
    });
    return () => {
      alive = false;
      stream.close();
    };
  }, [market.symbol]);

  return (
    <section class="panel trades-panel" data-testid="recent-trades">
      <div class="panel-head">
        <h2>Recent trades</h2>
      </div>
      <div class="book-columns muted">
        <span>Price</span>
        <span>Amount</span>
        <span>Time</span>
      </div>
      <div class="scroll">
        {trades.length === 0 && <p class="muted small pad">No trades yet.</p>}
        {trades.map((trade) => (
          <div key={trade.id} class="trade-row" onClick={() => onPrice(trade.price)} data-trade-id={trade.id}>
            <span class={trade.isBuyerMaker ? 'down' : 'up'}>{fixed(trade.price, market.priceDecimals)}</span>
            <span>{fixed(trade.qty, market.quantityDecimals)}</span>
            <span class="muted">{new Date(trade.time).toLocaleTimeString('en-GB')}</span>
          </div>
        ))}
      </div>
    </section>
  );
}
