// The market data service's copy of one market's price levels (L2), built only from
// BookLevelChanged events (absolute quantity per level plus the market's updateId).
// Invariant: after applying every change up to `updateId`, each side holds exactly the
// engine's non-empty levels (those it was told about), sorted by price.

import { Side } from '../../domain/codes.ts';

/** Position of `price` in an ascending array, or where it would be inserted. */
function lowerBound(prices: number[], price: number): number {
  let low = 0;
  let high = prices.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (prices[middle]! < price) low = middle + 1;
    else high = middle;
  }
  return low;
}

class BookSide {
  /** Ascending prices of non-empty levels. */
  readonly prices: number[] = [];
  readonly quantities = new Map<number, number>();

  set(priceTicks: number, quantityLots: number): void {
    const known = this.quantities.has(priceTicks);
    if (quantityLots <= 0) {
      if (!known) return;
      this.quantities.delete(priceTicks);
      this.prices.splice(lowerBound(this.prices, priceTicks), 1);
      return;
    }
    this.quantities.set(priceTicks, quantityLots);
    if (!known) this.prices.splice(lowerBound(this.prices, priceTicks), 0, priceTicks);
  }

  clear(): void {
    this.prices.length = 0;
    this.quantities.clear();
  }
}

export class LevelBook {
  updateId = 0;
  private readonly bids = new BookSide();
  private readonly asks = new BookSide();

  /** Replaces the whole book with a snapshot (levels best first, as DepthView gives them). */
  load(updateId: number, bids: readonly [number, number][], asks: readonly [number, number][]): void {
    this.bids.clear();
    this.asks.clear();
    for (const [price, quantity] of bids) this.bids.set(price, quantity);
    for (const [price, quantity] of asks) this.asks.set(price, quantity);
    this.updateId = updateId;
  }

  set(side: number, priceTicks: number, quantityLots: number): void {
    (side === Side.Buy ? this.bids : this.asks).set(priceTicks, quantityLots);
  }

  levelCount(side: number): number {
    return (side === Side.Buy ? this.bids : this.asks).prices.length;
  }

  /** Up to `levelsMax` levels of one side, best first, as [priceTicks, quantityLots]. */
  top(side: number, levelsMax: number): [number, number][] {
    const levels: [number, number][] = [];
    if (side === Side.Buy) {
      const prices = this.bids.prices;
      for (let index = prices.length - 1; index >= 0 && levels.length < levelsMax; index--) {
        levels.push([prices[index]!, this.bids.quantities.get(prices[index]!)!]);
      }
    } else {
      const prices = this.asks.prices;
      for (let index = 0; index < prices.length && levels.length < levelsMax; index++) {
        levels.push([prices[index]!, this.asks.quantities.get(prices[index]!)!]);
      }
    }
    return levels;
  }

  /** Best level of a side, or null when the side is empty. */
  best(side: number): [number, number] | null {
    const book = side === Side.Buy ? this.bids : this.asks;
    if (book.prices.length === 0) return null;
    const price = side === Side.Buy ? book.prices[book.prices.length - 1]! : book.prices[0]!;
    return [price, book.quantities.get(price)!];
  }
}
