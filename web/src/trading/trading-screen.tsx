// The trading screen of one market: market bar (selector, last price, 24h figures),
// chart, order book, recent trades, order form and the user's orders and balances.
import { useEffect, useRef, useState } from 'preact/hooks';
import { navigate } from '../lib/router.ts';
import { useStore } from '../lib/store.ts';
import { fixed, formatDecimal, parseDecimal } from '../lib/decimal.ts';
import { markets, tickers, type MarketInfo, type Ticker } from '../state.ts';
import { Chart } from './chart.tsx';
import { OrderBook } from './order-book.tsx';
import { RecentTrades } from './recent-trades.tsx';
import { OrderForm } from './order-form.tsx';
import { OrdersPanel } from './orders-panel.tsx';

/** A market with no trade yet has no price: show dashes rather than zeros. */
function traded(ticker: Ticker | undefined): Ticker | undefined {
  return ticker && Number(ticker.lastPrice) > 0 ? ticker : undefined;
}

function MarketSelector({ market }: { market: MarketInfo }) {
  const list = useStore(markets);
  const all = useStore(tickers);
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent): void => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);
  return (
    <div class="market-select" ref={root}>
      <button class="market-button" onClick={() => setOpen(!open)} data-testid="market-selector" aria-expanded={open}>
        <strong>
          {market.baseAsset}/{market.quoteAsset}
        </strong>
        <span class="caret">▾</span>
      </button>
      {open && (
        <div class="market-menu" role="listbox">
          <div class="market-menu-row muted small">
            <span>Market</span>
            <span>Last</span>
            <span>24h</span>
          </div>
          {list.map((item) => {
            const ticker = traded(all[item.symbol]);
            const change = Number(ticker?.priceChangePercent ?? 0);
            return (
              <button
                key={item.symbol}
                class={`market-menu-row ${item.symbol === market.symbol ? 'on' : ''}`}
                role="option"
                onClick={() => {
                  setOpen(false);
                  navigate(`/trade/${item.symbol}`);
                }}
                data-symbol={item.symbol}
              >
                <span>
                  {item.baseAsset}/{item.quoteAsset}
                  {item.status !== 'TRADING' && <em class="tag">halted</em>}
                </span>
                <span>{ticker ? fixed(ticker.lastPrice, item.priceDecimals) : '—'}</span>
                <span class={change >= 0 ? 'up' : 'down'}>{ticker ? `${change >= 0 ? '+' : ''}${change.toFixed(2)}%` : '—'}</span>
              </button>
            );
          })}
        </div>
      )}
    </div>
  );
}

function MarketBar({ market }: { market: MarketInfo }) {
  const ticker = traded(useStore(tickers)[market.symbol]);
  const change = Number(ticker?.priceChangePercent ?? 0);
  return (
    <div class="market-bar">
      <MarketSelector market={market} />
      <div class="stat">
        <strong class={change >= 0 ? 'up big' : 'down big'} data-testid="last-price">
          {ticker ? fixed(ticker.lastPrice, market.priceDecimals) : '—'}
        </strong>
      </div>
      <div class="stat">
        <span class="muted">24h change</span>
        <span class={change >= 0 ? 'up' : 'down'} data-testid="change-24h">
          {ticker ? `${change >= 0 ? '+' : ''}${change.toFixed(2)}%` : '—'}
        </span>
      </div>
      <div class="stat hide-phone">
        <span class="muted">24h high</span>
        <span>{ticker ? fixed(ticker.highPrice, market.priceDecimals) : '—'}</span>
      </div>
      <div class="stat hide-phone">
        <span class="muted">24h low</span>
        <span>{ticker ? fixed(ticker.lowPrice, market.priceDecimals) : '—'}</span>
      </div>
      <div class="stat hide-phone">
        <span class="muted">24h volume ({market.baseAsset})</span>
        <span>{ticker ? fixed(ticker.volume, market.quantityDecimals) : '—'}</span>
      </div>
      {market.status !== 'TRADING' && <span class="tag warn">Trading halted</span>}
    </div>
  );
}

export function TradingScreen({ symbol }: { symbol: string }) {
  const list = useStore(markets);
  const market = list.find((item) => item.symbol === symbol);
  const ticker = traded(useStore(tickers)[symbol]);
  useEffect(() => {
    document.title = ticker ? `${fixed(ticker.lastPrice, market?.priceDecimals ?? 2)} ${symbol} | Bourse` : `${symbol} | Bourse`;
  }, [ticker?.lastPrice, symbol]);
  const [price, setPrice] = useState('');
  if (!market) return <p class="empty-screen">{list.length ? `Unknown market ${symbol}.` : 'Loading markets…'}</p>;
  // A price picked from the book or the trades is written with the market's tick decimals.
  const pickPrice = (picked: string): void => {
    const value = parseDecimal(picked);
    setPrice(value ? formatDecimal(value, market.priceDecimals) : picked);
  };
  return (
    <div class="trading">
      <MarketBar market={market} />
      <div class="trading-grid">
        <OrderBook market={market} onPrice={pickPrice} lastPrice={ticker?.lastPrice ?? ''} />
        <Chart market={market} />
        <div class="right-column">
          <OrderForm market={market} price={price} onPriceChange={setPrice} referencePrice={ticker?.lastPrice ?? ''} />
          <RecentTrades market={market} onPrice={pickPrice} />
        </div>
        <OrdersPanel market={market} />
      </div>
    </div>
  );
}
