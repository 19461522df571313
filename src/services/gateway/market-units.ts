// Conversion between the API's decimal strings and a market's integer units (ticks, lots,
// atoms), in both directions, exactly: prices and quantities are parsed with parseDecimal
// and must land on a whole tick / lot, never rounded. Also the reverse for admin input:
// decimal tickSize / stepSize into a MarketSpec.
import type { MarketSpec } from '../../domain/market.ts';
import { formatDecimal, parseDecimal } from '../../domain/units.ts';
import { formatAssetAtoms } from '../../domain/market-format.ts';
import type { AssetView, MarketView } from '../../engine/types.ts';

/** Decimals Binance prints for prices, quantities and balances. */
export const displayDecimalsMin = 8;
const plainDecimal = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const decimalsMax = 18;

export type ParseFailure = 'format' | 'precision';

/**
 * Atoms at `scale` as a decimal string with at least displayDecimalsMin places: the same
 * text as the streams' formatAssetAtoms (whose cache of recent texts it shares).
 */
export function formatAtoms(atoms: number, scale: number): string {
  return formatAssetAtoms(atoms, scale);
}

/** The decimal count and integer value of a decimal string (for admin input). */
export function decimalParts(text: string): { digits: bigint; decimals: number } | null {
  if (typeof text !== 'string' || text.length > 40 || !plainDecimal.test(text)) return null;
  const dot = text.indexOf('.');
  const fraction = dot < 0 ? '' : text.slice(dot + 1).replace(/0+$/, '');
  const whole = dot < 0 ? text : text.slice(0, dot);
  return { digits: BigInt(whole + fraction), decimals: fraction.length };
}

export class MarketUnits {
  readonly symbol: string;
  readonly marketId: number;
  readonly spec: MarketSpec;
  readonly baseScale: number;
  readonly quoteScale: number;
  /** Decimals prices are parsed and printed with. */
  readonly priceScale: number;
  /** One tick as an integer at priceScale. */
  readonly tickScaled: number;

  constructor(market: MarketView, base: AssetView, quote: AssetView) {
    this.symbol = market.spec.symbol;
    this.marketId = market.marketId;
    this.spec = market.spec;
    this.baseScale = base.scale;
    this.quoteScale = quote.scale;
    // tickSize = quoteAtomsPerTickLot x 10^baseScale / (lotAtoms x 10^quoteScale) quote units.
    const numerator = BigInt(market.spec.quoteAtomsPerTickLot) * 10n ** BigInt(base.scale);
    const denominator = BigInt(market.spec.lotAtoms) * 10n ** BigInt(quote.scale);
    let scale = 0;
    while (scale < decimalsMax && (numerator * 10n ** BigInt(scale)) % denominator !== 0n) scale++;
    const exact = (numerator * 10n ** BigInt(scale)) % denominator === 0n;
    this.priceScale = Math.max(scale, displayDecimalsMin);
    this.tickScaled = exact ? Number((numerator * 10n ** BigInt(this.priceScale)) / denominator) : 0;
  }

  /** False when the market's tick is not a finite decimal (the gateway then refuses prices). */
  get pricesSupported(): boolean {
    return this.tickScaled > 0 && Number.isSafeInteger(this.tickScaled);
  }

  private static parse(text: string, scale: number): number | ParseFailure {
    if (!plainDecimal.test(text) || text.length > 40) return 'format';
    const value = parseDecimal(text, scale);
    return value === null ? 'precision' : value;
  }

  /** Price in ticks; 'precision' when it is not a whole tick or out of range. */
  priceTicks(text: string): number | ParseFailure {
    const scaled = MarketUnits.parse(text, this.priceScale);
    if (typeof scaled !== 'number') return scaled;
    if (!this.pricesSupported || scaled % this.tickScaled !== 0) return 'precision';
    return scaled / this.tickScaled;
  }

  quantityLots(text: string): number | ParseFailure {
    const atoms = MarketUnits.parse(text, this.baseScale);
    if (typeof atoms !== 'number') return atoms;
    if (atoms % this.spec.lotAtoms !== 0) return 'precision';
    return atoms / this.spec.lotAtoms;
  }

  quoteAtoms(text: string): number | ParseFailure {
    return MarketUnits.parse(text, this.quoteScale);
  }

  formatPrice(ticks: number): string {
    if (!this.pricesSupported) return '0';
    const scaled = ticks * this.tickScaled;
    if (Number.isSafeInteger(scaled)) return formatDecimal(scaled, this.priceScale);
    return bigDecimal(BigInt(ticks) * BigInt(this.tickScaled), this.priceScale);
  }

  formatLots(lots: number): string {
    return formatAtoms(lots * this.spec.lotAtoms, this.baseScale);
  }

  formatBaseAtoms(atoms: number): string {
    return formatAtoms(atoms, this.baseScale);
  }

  formatQuoteAtoms(atoms: number): string {
    return formatAtoms(atoms, this.quoteScale);
  }

  notionalAtoms(priceTicks: number, quantityLots: number): number {
    return priceTicks * quantityLots * this.spec.quoteAtomsPerTickLot;
  }

  get tickSize(): string {
    return this.formatPrice(1);
  }

  get stepSize(): string {
    return this.formatLots(1);
  }
}

function bigDecimal(value: bigint, scale: number): string {
  const digits = value.toString().padStart(scale + 1, '0');
  return scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
}

export interface MarketSpecInput {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: string;
  stepSize: string;
  minQty: string;
  maxQty: string;
  marketMaxQty?: string;
  maxPrice: string;
  minNotional: string;
  makerFeeBps?: number;
  takerFeeBps?: number;
}

/**
 * Turns decimal market rules into a MarketSpec. Returns a message when the rules cannot be
 * expressed exactly in the assets' scales (a step finer than the base atom, a tick x step
 * finer than the quote atom, values off the step, ...).
 */
export function marketSpecFromDecimals(input: MarketSpecInput, base: AssetView, quote: AssetView): MarketSpec | string {
  const tick = decimalParts(input.tickSize);
  const step = decimalParts(input.stepSize);
  if (!tick || tick.digits === 0n) return 'tickSize must be a positive decimal';
  if (!step || step.digits === 0n) return 'stepSize must be a positive decimal';
  // lotAtoms = stepSize x 10^baseScale.
  if (step.decimals > base.scale) return `stepSize ${input.stepSize} is finer than one ${base.code} atom (scale ${base.scale})`;
  const lotAtoms = step.digits * 10n ** BigInt(base.scale - step.decimals);
  // quoteAtomsPerTickLot = tickSize x stepSize x 10^quoteScale.
  const productDecimals = tick.decimals + step.decimals;
  if (productDecimals > quote.scale) {
    const divisor = 10n ** BigInt(productDecimals - quote.scale);
    if ((tick.digits * step.digits) % divisor !== 0n) return `tickSize x stepSize is finer than one ${quote.code} atom (scale ${quote.scale})`;
  }
  const quoteAtomsPerTickLot =
    productDecimals > quote.scale
      ? (tick.digits * step.digits) / 10n ** BigInt(productDecimals - quote.scale)
      : tick.digits * step.digits * 10n ** BigInt(quote.scale - productDecimals);
  const inSteps = (text: string | undefined, what: string): number | string => {
    const parts = decimalParts(text ?? '');
    if (!parts) return `${what} must be a decimal`;
    const atoms = parts.decimals > base.scale ? null : parts.digits * 10n ** BigInt(base.scale - parts.decimals);
    if (atoms === null || atoms % lotAtoms !== 0n) return `${what} must be a multiple of stepSize`;
    return Number(atoms / lotAtoms);
  };
  const minQuantityLots = inSteps(input.minQty, 'minQty');
  const maxQuantityLots = inSteps(input.maxQty, 'maxQty');
  const marketMaxQuantityLots = inSteps(input.marketMaxQty ?? input.maxQty, 'marketMaxQty');
  if (typeof minQuantityLots === 'string') return minQuantityLots;
  if (typeof maxQuantityLots === 'string') return maxQuantityLots;
  if (typeof marketMaxQuantityLots === 'string') return marketMaxQuantityLots;
  const maxPrice = decimalParts(input.maxPrice);
  if (!maxPrice) return 'maxPrice must be a decimal';
  const commonDecimals = Math.max(maxPrice.decimals, tick.decimals);
  const maxPriceScaled = maxPrice.digits * 10n ** BigInt(commonDecimals - maxPrice.decimals);
  const tickScaled = tick.digits * 10n ** BigInt(commonDecimals - tick.decimals);
  if (maxPriceScaled % tickScaled !== 0n) return 'maxPrice must be a multiple of tickSize';
  const minNotional = parseDecimal(input.minNotional, quote.scale);
  if (minNotional === null) return `minNotional must be a decimal with at most ${quote.scale} places`;
  const spec: MarketSpec = {
    symbol: input.symbol,
    baseAsset: input.baseAsset,
    quoteAsset: input.quoteAsset,
    lotAtoms: Number(lotAtoms),
    quoteAtomsPerTickLot: Number(quoteAtomsPerTickLot),
    maxPriceTicks: Number(maxPriceScaled / tickScaled),
    minQuantityLots,
    maxQuantityLots,
    marketMaxQuantityLots,
    minNotionalAtoms: minNotional,
    makerFeeBps: input.makerFeeBps ?? 10,
    takerFeeBps: input.takerFeeBps ?? 10,
  };
  return spec;
}
