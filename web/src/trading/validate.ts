// Checks an order against the market's exchangeInfo filters before it is sent (exact
// decimal arithmetic), so most mistakes are caught in the form with a clear message.
// The server checks again and its answer is shown as is when it disagrees.
import { compareDecimal, isMultipleOf, multiplyDecimal, parseDecimal, trimZeros, type Decimal } from '../lib/decimal.ts';
import type { MarketInfo } from '../state.ts';

export type OrderKind = 'LIMIT' | 'LIMIT_MAKER' | 'MARKET';

export interface OrderDraft {
  side: 'BUY' | 'SELL';
  kind: OrderKind;
  price: string;
  quantity: string;
}

function positive(text: string): Decimal | null {
  const value = parseDecimal(text);
  return value && value.units > 0n ? value : null;
}

/** Returns a message for the first problem found, or '' when the order passes. */
export function validateOrder(draft: OrderDraft, market: MarketInfo): string {
  const quantity = positive(draft.quantity);
  if (!quantity) return 'Enter an amount greater than zero.';
  const step = parseDecimal(market.stepSize);
  if (step && step.units > 0n && !isMultipleOf(quantity, step)) return `Amount must be a multiple of ${trimZeros(market.stepSize)}.`;
  const minQty = parseDecimal(market.minQty);
  if (minQty && compareDecimal(quantity, minQty) < 0) return `Minimum amount is ${trimZeros(market.minQty)} ${market.baseAsset}.`;
  const maxQty = parseDecimal(draft.kind === 'MARKET' ? market.marketMaxQty : market.maxQty);
  if (maxQty && maxQty.units > 0n && compareDecimal(quantity, maxQty) > 0) return `Maximum amount is ${trimZeros((draft.kind === 'MARKET' ? market.marketMaxQty : market.maxQty))} ${market.baseAsset}.`;
  if (draft.kind === 'MARKET') return '';
  const price = positive(draft.price);
  if (!price) return 'Enter a price greater than zero.';
  const tick = parseDecimal(market.tickSize);
  if (tick && tick.units > 0n && !isMultipleOf(price, tick)) return `Price must be a multiple of ${trimZeros(market.tickSize)}.`;
  const minPrice = parseDecimal(market.minPrice);
  if (minPrice && compareDecimal(price, minPrice) < 0) return `Minimum price is ${trimZeros(market.minPrice)}.`;
  const maxPrice = parseDecimal(market.maxPrice);
  if (maxPrice && maxPrice.units > 0n && compareDecimal(price, maxPrice) > 0) return `Maximum price is ${trimZeros(market.maxPrice)}.`;
  const minNotional = parseDecimal(market.minNotional);
  if (minNotional && compareDecimal(multiplyDecimal(price, quantity), minNotional) < 0) {
    return `Order value must be at least ${trimZeros(market.minNotional)} ${market.quoteAsset}.`;
  }
  return '';
}
