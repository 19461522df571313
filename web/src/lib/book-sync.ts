// A local order book kept equal to the server's by Binance's documented procedure:
// buffer the diff stream, fetch a REST snapshot, drop diffs it already covers, require
// the first applied diff to straddle the snapshot's lastUpdateId, then apply diffs in
// order and start over on any gap. Pure logic (no I/O): the caller feeds it diffs and
// snapshots, which keeps it testable outside a browser.

export interface DepthDiff {
  /** First update id in the event. */
  U: number;
  /** Final update id in the event. */
  u: number;
  /** [price, quantity] decimal strings; quantity "0" removes the level. */
  b: [string, string][];
  a: [string, string][];
}

export interface DepthSnapshot {
  lastUpdateId: number;
  bids: [string, string][];
  asks: [string, string][];
}

export type SyncState = 'buffering' | 'synced';

/** Diffs buffered while a snapshot is fetched; more means the snapshot is too slow. */
export const bufferedDiffsMax = 5000;

export interface BookLevel {
  price: string;
  priceValue: number;
  quantity: string;
  quantityValue: number;
}

export class BookSync {
  state: SyncState = 'buffering';
  lastUpdateId = 0;
  /** Counts resyncs (gaps and stale snapshots) for display and tests. */
  resyncs = 0;
  private buffer: DepthDiff[] = [];
  private bids = new Map<string, string>();
  private asks = new Map<string, string>();

  /** Feeds one diff. Returns 'resync' when the caller must fetch a new snapshot. */
  onDiff(diff: DepthDiff): 'applied' | 'buffered' | 'ignored' | 'resync' {
    if (this.state === 'buffering') {
      if (this.buffer.length >= bufferedDiffsMax) this.buffer.shift();
      this.buffer.push(diff);
      return 'buffered';
    }
    if (diff.u <= this.lastUpdateId) return 'ignored';
    if (diff.U > this.lastUpdateId + 1) {
      this.reset();
      return 'resync';
    }
    this.apply(diff);
    return 'applied';
  }

  /**
   * Applies a snapshot. Returns 'synced', or 'retry' when the snapshot is older than the
   * buffered diffs (fetch another) or does not line up with them.
   */
  onSnapshot(snapshot: DepthSnapshot): 'synced' | 'retry' {
    const first = this.buffer[0];
    if (first && snapshot.lastUpdateId < first.U - 1) {
      // The snapshot predates the oldest buffered diff: updates in between are missing.
      this.resyncs++;
      return 'retry';
    }
    const pending = this.buffer.filter((diff) => diff.u > snapshot.lastUpdateId);
    const head = pending[0];
    if (head && !(head.U <= snapshot.lastUpdateId + 1 && head.u >= snapshot.lastUpdateId + 1)) {
      this.resyncs++;
      return 'retry';
    }
    this.bids.clear();
    this.asks.clear();
    for (const [price, quantity] of snapshot.bids) if (Number(quantity) > 0) this.bids.set(price, quantity);
    for (const [price, quantity] of snapshot.asks) if (Number(quantity) > 0) this.asks.set(price, quantity);
    this.lastUpdateId = snapshot.lastUpdateId;
    this.buffer = [];
    this.state = 'synced';
    for (const diff of pending) {
      if (diff.U > this.lastUpdateId + 1) {
        this.reset();
        return 'retry';
      }
      this.apply(diff);
    }
    return 'synced';
  }

  /** Drops the book and starts buffering again (after a gap or a reconnect). */
  reset(): void {
    this.state = 'buffering';
    this.buffer = [];
    this.bids.clear();
    this.asks.clear();
    this.lastUpdateId = 0;
    this.resyncs++;
  }

  private apply(diff: DepthDiff): void {
    for (const [price, quantity] of diff.b) {
      if (Number(quantity) === 0) this.bids.delete(price);
      else this.bids.set(price, quantity);
    }
    for (const [price, quantity] of diff.a) {
      if (Number(quantity) === 0) this.asks.delete(price);
      else this.asks.set(price, quantity);
    }
    this.lastUpdateId = diff.u;
  }

  /** Best `levelsMax` levels per side, best first. */
  top(levelsMax: number): { bids: BookLevel[]; asks: BookLevel[] } {
    return { bids: sortedLevels(this.bids, levelsMax, true), asks: sortedLevels(this.asks, levelsMax, false) };
  }
}

function sortedLevels(side: Map<string, string>, levelsMax: number, descending: boolean): BookLevel[] {
  const levels: BookLevel[] = [];
  for (const [price, quantity] of side) levels.push({ price, priceValue: Number(price), quantity, quantityValue: Number(quantity) });
  levels.sort((left, right) => (descending ? right.priceValue - left.priceValue : left.priceValue - right.priceValue));
  return levels.length > levelsMax ? levels.slice(0, levelsMax) : levels;
}
