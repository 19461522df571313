// Rolling statistics of one market's trades (24h ticker, 5 min average price), kept as
// one bucket per second that had trades. The window is exact to the second; buckets that
// leave the longest window are dropped, and the last one's close becomes the previous
// close (Binance's `prevClosePrice`, the price before the window).

export class SecondBucket {
  highTicks: number;
  lowTicks: number;
  closeTicks: number;
  volumeLots = 0;
  quoteAtoms = 0;
  tradeCount = 0;
  lastTradeId: number;
  lastQuantityLots = 0;
  lastTimeMs: number;

  constructor(
    readonly secondMs: number,
    readonly openTicks: number,
    readonly firstTradeId: number,
    timeMs: number,
  ) {
    this.highTicks = openTicks;
    this.lowTicks = openTicks;
    this.closeTicks = openTicks;
    this.lastTradeId = firstTradeId;
    this.lastTimeMs = timeMs;
  }
}

export interface WindowStats {
  /** Zero trades in the window: prices below are the last known price (0 if none). */
  tradeCount: number;
  openTicks: number;
  highTicks: number;
  lowTicks: number;
  lastTicks: number;
  lastQuantityLots: number;
  volumeLots: number;
  quoteAtoms: number;
  firstTradeId: number;
  lastTradeId: number;
  lastTimeMs: number;
  /** Close before the window (0 if unknown). */
  previousCloseTicks: number;
}

export class RollingWindow {
  private buckets: SecondBucket[] = [];
  private head = 0;
  /** Close of the newest trade that left the window. */
  private previousCloseTicks = 0;
  /** The newest trade ever seen, even after it left the window. */
  lastTicks = 0;
  lastQuantityLots = 0;
  lastTimeMs = 0;

  constructor(private readonly windowMs: number) {}

  addTrade(timeMs: number, priceTicks: number, quantityLots: number, quoteAtoms: number, tradeId: number): void {
    const secondMs = Math.floor(timeMs / 1000) * 1000;
    let bucket = this.buckets.length > this.head ? this.buckets[this.buckets.length - 1] : undefined;
    if (!bucket || secondMs > bucket.secondMs) {
      bucket = new SecondBucket(secondMs, priceTicks, tradeId, timeMs);
      this.buckets.push(bucket);
    }
    if (priceTicks > bucket.highTicks) bucket.highTicks = priceTicks;
    if (priceTicks < bucket.lowTicks) bucket.lowTicks = priceTicks;
    bucket.closeTicks = priceTicks;
    bucket.volumeLots += quantityLots;
    bucket.quoteAtoms += quoteAtoms;
    bucket.tradeCount += 1;
    bucket.lastTradeId = tradeId;
    bucket.lastQuantityLots = quantityLots;
    bucket.lastTimeMs = Math.max(bucket.lastTimeMs, timeMs);
    this.lastTicks = priceTicks;
    this.lastQuantityLots = quantityLots;
    this.lastTimeMs = Math.max(this.lastTimeMs, timeMs);
  }

  /** Drops buckets older than the window ending at `nowMs`. */
  evict(nowMs: number): void {
    const oldestKeptMs = nowMs - this.windowMs;
    while (this.head < this.buckets.length && this.buckets[this.head]!.secondMs + 1000 <= oldestKeptMs) {
      this.previousCloseTicks = this.buckets[this.head]!.closeTicks;
      this.head += 1;
    }
    // Compact once the dropped prefix dominates, so memory stays bounded by the window.
    if (this.head > 1024 && this.head * 2 > this.buckets.length) {
      this.buckets = this.buckets.slice(this.head);
      this.head = 0;
    }
  }

  /** Statistics over the last `spanMs` (at most the window) ending at `nowMs`. */
  stats(nowMs: number, spanMs: number = this.windowMs): WindowStats {
    this.evict(nowMs);
    const oldestKeptMs = nowMs - spanMs;
    let first = this.buckets.length;
    while (first > this.head && this.buckets[first - 1]!.secondMs + 1000 > oldestKeptMs) first -= 1;
    const previousCloseTicks = first > this.head ? this.buckets[first - 1]!.closeTicks : this.previousCloseTicks;
    if (first >= this.buckets.length) {
      const price = this.lastTicks;
      return {
        tradeCount: 0, openTicks: price, highTicks: price, lowTicks: price, lastTicks: price, lastQuantityLots: 0,
        volumeLots: 0, quoteAtoms: 0, firstTradeId: -1, lastTradeId: -1, lastTimeMs: this.lastTimeMs, previousCloseTicks,
      };
    }
    const firstBucket = this.buckets[first]!;
    const lastBucket = this.buckets[this.buckets.length - 1]!;
    let highTicks = firstBucket.highTicks;
    let lowTicks = firstBucket.lowTicks;
    let volumeLots = 0;
    let quoteAtoms = 0;
    let tradeCount = 0;
    for (let index = first; index < this.buckets.length; index++) {
      const bucket = this.buckets[index]!;
      if (bucket.highTicks > highTicks) highTicks = bucket.highTicks;
      if (bucket.lowTicks < lowTicks) lowTicks = bucket.lowTicks;
      volumeLots += bucket.volumeLots;
      quoteAtoms += bucket.quoteAtoms;
      tradeCount += bucket.tradeCount;
    }
    return {
      tradeCount, openTicks: firstBucket.openTicks, highTicks, lowTicks, lastTicks: lastBucket.closeTicks,
      lastQuantityLots: lastBucket.lastQuantityLots, volumeLots, quoteAtoms, firstTradeId: firstBucket.firstTradeId,
      lastTradeId: lastBucket.lastTradeId, lastTimeMs: lastBucket.lastTimeMs, previousCloseTicks,
    };
  }
}
