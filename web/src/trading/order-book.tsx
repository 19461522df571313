// The order book: kept in sync with `<symbol>@depth@100ms` by BookSync (snapshot + diffs,
// resync on a gap or reconnect) and redrawn at most once per animation frame however
// fast diffs arrive (and at most every bookRedrawIntervalMs). Rows show depth bars;
// clicking a price fills the order form.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../lib/api.ts';
import { BookSync, type BookLevel, type DepthDiff, type DepthSnapshot } from '../lib/book-sync.ts';
import { combinedStream } from '../lib/streams.ts';
import { fixed } from '../lib/decimal.ts';
import type { MarketInfo } from '../state.ts';

export const bookLevelsShown = 50;
export const snapshotLimit = 1000;
/**
 * Shortest time between two redraws of the rows (20 per second, twice the @depth@100ms
 * stream's rate): a trader cannot read faster, and the rest of the frame budget stays
 * with the chart and the inputs. Diffs themselves are applied the moment they arrive.
 */
export const bookRedrawIntervalMs = 50;
/** Back off between snapshot attempts that do not line up with the stream. */
const snapshotRetryDelayMs = 300;

interface BookView {
  bids: BookLevel[];
  asks: BookLevel[];
  synced: boolean;
  lastUpdateId: number;
}

const emptyView: BookView = { bids: [], asks: [], synced: false, lastUpdateId: 0 };

export function OrderBook({ market, onPrice, lastPrice }: { market: MarketInfo; onPrice: (price: string) => void; lastPrice: string }) {
  const [view, setView] = useState<BookView>(emptyView);
  const syncRef = useRef<BookSync | null>(null);

  useEffect(() => {
    const sync = new BookSync();
    syncRef.current = sync;
    let alive = true;
    let frame = 0;
    let fetching = false;
    const draw = (): void => {
      frame = 0;
      if (!alive) return;
      const top = sync.top(bookLevelsShown);
      setView({ bids: top.bids, asks: top.asks, synced: sync.state === 'synced', lastUpdateId: sync.lastUpdateId });
    };
    let lastDrawMs = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const drawInFrame = (): void => {
      timer = null;
      if (frame === 0) frame = requestAnimationFrame((now) => {
        lastDrawMs = now;
        draw();
      });
    };
    // Every diff is applied at once; the rows are redrawn at most every bookRedrawIntervalMs.
    const schedule = (): void => {
      if (frame !== 0 || timer !== null) return;
      const waitMs = lastDrawMs + bookRedrawIntervalMs - performance.now();
      if (waitMs <= 0) drawInFrame();
      else timer = setTimeout(drawInFrame, waitMs);
    };
    const fetchSnapshot = (): void => {
      if (fetching || !alive) return;
      fetching = true;
      get<DepthSnapshot>('/api/v3/depth', { symbol: market.symbol, limit: snapshotLimit })
        .then((snapshot) => {
          fetching = false;
          if (!alive) return;
          if (sync.onSnapshot(snapshot) === 'retry') setTimeout(fetchSnapshot, snapshotRetryDelayMs);
          schedule();
        })
        .catch(() => {
          fetching = false;
          setTimeout(fetchSnapshot, snapshotRetryDelayMs * 5);
        });
    };
    const stream = combinedStream([`${market.symbol.toLowerCase()}@depth@100ms`], {
      onOpen: () => {
        // A fresh connection may have missed diffs: start over from a new snapshot.
        sync.reset();
        fetchSnapshot();
      },
      onMessage: (_name, data) => {
        const diff = data as DepthDiff;
        if (typeof diff?.U !== 'number') return;
        const outcome = sync.onDiff(diff);
        if (outcome === 'resync') fetchSnapshot();
        if (outcome === 'applied' || outcome === 'resync') schedule();
      },
    });
    return () => {
      alive = false;
      if (frame) cancelAnimationFrame(frame);
      if (timer) clearTimeout(timer);
      stream.close();
    };
  }, [market.symbol]);

  const bestBid = view.bids[0];
  const bestAsk = view.asks[0];
  const spread = bestBid && bestAsk ? bestAsk.priceValue - bestBid.priceValue : null;
  const spreadPercent = spread !== null && bestAsk ? (spread / bestAsk.priceValue) * 100 : null;
  let maxTotal = 0;
  const cumulative = (levels: BookLevel[]): number[] => {
    let total = 0;
    return levels.map((level) => {
      total += level.quantityValue;
      if (total > maxTotal) maxTotal = total;
      return total;
    });
  };
  const bidTotals = cumulative(view.bids);
  const askTotals = cumulative(view.asks);

  const row = (level: BookLevel, total: number, side: 'bid' | 'ask') => (
    <div
      key={level.price}
      class={`book-row ${side}`}
      onClick={() => onPrice(level.price)}
      data-price={level.price}
      title="Click to use this price"
    >
      <span class="bar" style={{ transform: `scaleX(${maxTotal > 0 ? total / maxTotal : 0})` }} />
      <span class="price">{fixed(level.price, market.priceDecimals)}</span>
      <span>{fixed(level.quantity, market.quantityDecimals)}</span>
      <span class="muted">{fixed(total, market.quantityDecimals)}</span>
    </div>
  );

  return (
    <section class="panel book-panel" data-testid="order-book" data-synced={view.synced} data-update-id={view.lastUpdateId}>
      <div class="panel-head">
        <h2>Order book</h2>
        {!view.synced && <span class="muted small">syncing…</span>}
      </div>
      <div class="book-columns muted">
        <span>Price ({market.quoteAsset})</span>
        <span>Amount ({market.baseAsset})</span>
        <span>Total</span>
      </div>
      <div class="book-side asks" data-testid="book-asks">
        {view.asks.map((level, index) => row(level, askTotals[index]!, 'ask'))}
      </div>
      <div class="book-mid">
        <strong class={Number(lastPrice) >= (bestBid?.priceValue ?? 0) ? 'up' : 'down'}>{lastPrice ? fixed(lastPrice, market.priceDecimals) : '—'}</strong>
        <span class="muted small" data-testid="spread">
          {spread !== null ? `Spread ${fixed(spread, market.priceDecimals)} (${spreadPercent!.toFixed(3)}%)` : 'Spread —'}
        </span>
      </div>
      <div class="book-side bids" data-testid="book-bids">
        {view.bids.map((level, index) => row(level, bidTotals[index]!, 'bid'))}
      </div>
    </section>
  );
}
