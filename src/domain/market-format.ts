// Conversion between a market's integer units (price ticks, quantity lots, quote atoms)
// and the decimal strings of the Binance API. This is the ONE place that derives tick
// size and step size from a MarketSpec, so every endpoint and stream prints and parses
// the same numbers; conversions are exact (BigInt where a product may pass 2^53).
//
// Derivation. One lot is `lotAtoms` base atoms = lotAtoms x 10^-baseScale base units.
// One tick times one lot is `quoteAtomsPerTickLot` quote atoms = qatl x 10^-quoteScale
// quote units. A price is quote units per base unit, so one tick of price is
//   tickSize = qatl x 10^-quoteScale / (lotAtoms x 10^-baseScale)
//            = qatl x 10^baseScale / lotAtoms  quote atoms per base unit.
// Printing follows Binance, which shows at least 8 decimals: a price has `priceScale` =
// max(8, the decimals of the tick size); a quantity max(8, the base asset's scale); quote
// and base amounts max(8, their asset's scale). The gateway's order endpoints print the
// same way, so a price reads the same in a depth level, a trade and an order.

import type { MarketSpec } from './market.ts';
import { DecimalTextCache, formatDecimal, parseDecimal } from './units.ts';

/** Binance prints prices, quantities and amounts with at least this many decimals. */
export const displayDecimalsMin = 8;
/** Most decimals a tick size may need to be printed exactly. */
const tickDecimalsMax = 18;

export interface MarketFormat {
  symbol: string;
  baseScale: number;
  quoteScale: number;
  /** Decimals of every printed price. */
  priceScale: number;
  /** One tick in units of 10^-priceScale (so price text = priceTicks x tickUnits at priceScale). */
  tickUnits: bigint;
  /** tickUnits as a number, or NaN when it is beyond the safe integer range (prices then use BigInt). */
  tickUnitsNumber: number;
  /** Decimals of every printed quantity (the base asset's scale). */
  quantityScale: number;
  /** One lot in units of 10^-quantityScale (= lotAtoms). */
  lotUnits: number;
  /** False when the tick cannot be printed exactly (then prices are rounded to priceScale). */
  exact: boolean;
  /** When not exact: tick as a fraction numerator / denominator in 10^-priceScale units. */
  tickNumerator: bigint;
  tickDenominator: bigint;
}

/** Builds the format of a market from its spec and its two assets' scales. */
export function marketFormat(spec: MarketSpec, baseScale: number, quoteScale: number): MarketFormat {
  // tickSize = qatl x 10^baseScale / (lotAtoms x 10^quoteScale) quote units per base unit.
  const numerator = BigInt(spec.quoteAtomsPerTickLot) * 10n ** BigInt(baseScale);
  const denominator = BigInt(spec.lotAtoms) * 10n ** BigInt(quoteScale);
  let tickDecimals = 0;
  while (tickDecimals < tickDecimalsMax && (numerator * 10n ** BigInt(tickDecimals)) % denominator !== 0n) tickDecimals += 1;
  const exact = (numerator * 10n ** BigInt(tickDecimals)) % denominator === 0n;
  const priceScale = Math.max(tickDecimals, displayDecimalsMin);
  const tickNumerator = numerator * 10n ** BigInt(priceScale);
  const quantityScale = Math.max(baseScale, displayDecimalsMin);
  return {
    symbol: spec.symbol,
    baseScale,
    quoteScale,
    priceScale,
    tickUnits: tickNumerator / denominator,
    tickUnitsNumber: tickNumerator / denominator <= 9007199254740991n ? Number(tickNumerator / denominator) : Number.NaN,
    quantityScale,
    lotUnits: spec.lotAtoms * 10 ** (quantityScale - baseScale),
    exact,
    tickNumerator,
    tickDenominator: denominator,
  };
}

/** The format of a market given the asset list of EngineReads (code -> scale). */
export function marketFormatFromAssets(spec: MarketSpec, assets: readonly { code: string; scale: number }[]): MarketFormat {
  const base = assets.find((asset) => asset.code === spec.baseAsset);
  const quote = assets.find((asset) => asset.code === spec.quoteAsset);
  if (!base || !quote) throw new Error(`market ${spec.symbol}: unknown asset ${!base ? spec.baseAsset : spec.quoteAsset}`);
  return marketFormat(spec, base.scale, quote.scale);
}

function formatBigDecimal(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${text}` : text;
}

/** Price ticks -> decimal string ("43250.01000000"). */
export function formatPrice(format: MarketFormat, priceTicks: number): string {
  if (format.exact) {
    const units = priceTicks * format.tickUnitsNumber;
    if (Number.isSafeInteger(units)) return formatDecimal(units, format.priceScale);
    return formatBigDecimal(BigInt(priceTicks) * format.tickUnits, format.priceScale);
  }
  // Round half up to the printed scale.
  const scaled = BigInt(priceTicks) * format.tickNumerator;
  const rounded = (scaled * 2n + format.tickDenominator) / (2n * format.tickDenominator);
  return formatBigDecimal(rounded, format.priceScale);
}

/** Quantity lots -> decimal string in base units ("0.00100000"). */
export function formatQuantity(format: MarketFormat, quantityLots: number): string {
  const units = quantityLots * format.lotUnits;
  if (Number.isSafeInteger(units)) return formatDecimal(units, format.quantityScale);
  return formatBigDecimal(BigInt(quantityLots) * BigInt(format.lotUnits), format.quantityScale);
}

/** Padded texts of formatAssetAtoms for scales below displayDecimalsMin (formatDecimal caches the others). */
const paddedAssetTexts = new DecimalTextCache();

/** Atoms of an asset -> decimal string in units, with at least 8 decimals (balances, fees). */
export function formatAssetAtoms(atoms: number, scale: number): string {
  if (scale >= displayDecimalsMin) return formatDecimal(atoms, scale);
  const slot = paddedAssetTexts.slotOf(atoms, scale);
  if (slot >= 0) {
    const known = paddedAssetTexts.get(slot, atoms);
    if (known !== undefined) return known;
  }
  const text = formatDecimal(atoms, scale) + (scale === 0 ? '.' : '') + '0'.repeat(displayDecimalsMin - scale);
  if (slot >= 0) paddedAssetTexts.set(slot, atoms, text);
  return text;
}

/** Quote atoms -> decimal string in quote units (notional, fees, quote volume). */
export function formatQuoteAtoms(format: MarketFormat, quoteAtoms: number): string {
  return formatAssetAtoms(quoteAtoms, format.quoteScale);
}

/** Base atoms -> decimal string in base units. */
export function formatBaseAtoms(format: MarketFormat, baseAtoms: number): string {
  return formatAssetAtoms(baseAtoms, format.baseScale);
}

/** The PRICE_FILTER tickSize (also minPrice) as a decimal string. */
export function tickSizeText(format: MarketFormat): string {
  return formatPrice(format, 1);
}

/** The LOT_SIZE stepSize as a decimal string. */
export function stepSizeText(format: MarketFormat): string {
  return formatQuantity(format, 1);
}

/** Zero printed at the price scale ("0.00000000"). */
export function zeroPriceText(format: MarketFormat): string {
  return formatDecimal(0, format.priceScale);
}

export type ParsedUnits = { ok: true; value: number } | { ok: false; error: 'malformed' | 'offStep' | 'overflow' };

/**
 * Decimal price text -> ticks. 'malformed': not a plain decimal or more decimals than the
 * price scale allows (with non-zero digits); 'offStep': not a whole number of ticks.
 */
export function parsePriceTicks(format: MarketFormat, text: string): ParsedUnits {
  if (!format.exact) return { ok: false, error: 'malformed' };
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(text) || text.length > 40) return { ok: false, error: 'malformed' };
  const [whole, fraction = ''] = text.split('.');
  if (fraction.length > format.priceScale && !/^0*$/.test(fraction.slice(format.priceScale))) return { ok: false, error: 'offStep' };
  const units = BigInt(whole! + fraction.slice(0, format.priceScale).padEnd(format.priceScale, '0'));
  if (units % format.tickUnits !== 0n) return { ok: false, error: 'offStep' };
  const ticks = units / format.tickUnits;
  if (ticks > 9007199254740991n) return { ok: false, error: 'overflow' };
  return { ok: true, value: Number(ticks) };
}

/** Decimal quantity text -> lots ('offStep' when not a whole number of lots). */
export function parseQuantityLots(format: MarketFormat, text: string): ParsedUnits {
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(text) || text.length > 40) return { ok: false, error: 'malformed' };
  const [whole, fraction = ''] = text.split('.');
  if (fraction.length > format.quantityScale && !/^0*$/.test(fraction.slice(format.quantityScale))) return { ok: false, error: 'offStep' };
  const units = BigInt(whole! + fraction.slice(0, format.quantityScale).padEnd(format.quantityScale, '0'));
  const lotUnits = BigInt(format.lotUnits);
  if (units % lotUnits !== 0n) return { ok: false, error: 'offStep' };
  const lots = units / lotUnits;
  if (lots > 9007199254740991n) return { ok: false, error: 'overflow' };
  return { ok: true, value: Number(lots) };
}

/** Decimal quote amount text (quoteOrderQty) -> quote atoms, or null when malformed/too precise. */
export function parseQuoteAtoms(format: MarketFormat, text: string): number | null {
  return parseDecimal(text, format.quoteScale);
}

/**
 * Volume-weighted average price (quote volume / base volume) as a price string, rounded
 * half up to the price scale. Zero volume prints zero.
 */
export function formatAveragePrice(format: MarketFormat, quoteAtoms: number, quantityLots: number): string {
  if (quantityLots <= 0) return zeroPriceText(format);
  // price units (10^-priceScale) = quoteAtoms x 10^(baseScale + priceScale - quoteScale) / baseAtoms
  const exponent = format.baseScale + format.priceScale - format.quoteScale;
  const baseAtoms = BigInt(quantityLots) * BigInt(format.lotUnits) / 10n ** BigInt(format.quantityScale - format.baseScale);
  const numerator = BigInt(quoteAtoms) * (exponent >= 0 ? 10n ** BigInt(exponent) : 1n);
  const denominator = baseAtoms * (exponent < 0 ? 10n ** BigInt(-exponent) : 1n);
  return formatBigDecimal((numerator * 2n + denominator) / (2n * denominator), format.priceScale);
}

/** (last - open) / open in percent with three decimals ("2.500", "-0.125"); "0.000" when open is 0. */
export function formatPercentChange(openTicks: number, lastTicks: number): string {
  if (openTicks === 0) return '0.000';
  const numerator = BigInt(lastTicks - openTicks) * 100_000n;
  const denominator = BigInt(openTicks);
  const negative = numerator < 0n;
  const magnitude = ((negative ? -numerator : numerator) * 2n + denominator) / (2n * denominator);
  return formatBigDecimal(negative ? -magnitude : magnitude, 3);
}
