// Integer money arithmetic shared by every engine and by the edge. Prices, quantities and
// balances are safe integers; these helpers stay exact for any safe-integer input.

/** floor(notionalAtoms x bps / 10000), exact for notional up to Number.MAX_SAFE_INTEGER. */
export function feeAtoms(notionalAtoms: number, feeBps: number): number {
  const whole = Math.floor(notionalAtoms / 10000);
  const rest = notionalAtoms - whole * 10000;
  return whole * feeBps + Math.floor((rest * feeBps) / 10000);
}

/** A buy order's hold for `quantityLots` at `priceTicks`: notional plus the highest fee it can pay. */
export function buyHoldAtoms(priceTicks: number, quantityLots: number, quoteAtomsPerTickLot: number, feeBpsMax: number): number {
  const notional = priceTicks * quantityLots * quoteAtomsPerTickLot;
  return notional + feeAtoms(notional, feeBpsMax);
}

const plainDecimal = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/**
 * Parses a plain decimal string ("0.00120000") into an integer count of `scale` decimal
 * places. Returns null for anything else: signs, exponents, hex, spaces, NaN, too many
 * significant decimals, or a result beyond the safe integer range.
 */
export function parseDecimal(text: string, scale: number): number | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > 40 || !plainDecimal.test(text)) return null;
  const dot = text.indexOf('.');
  const whole = dot < 0 ? text : text.slice(0, dot);
  let fraction = dot < 0 ? '' : text.slice(dot + 1);
  // Trailing zeros beyond the scale are harmless ("0.10000000" at scale 2).
  if (fraction.length > scale) {
    if (!/^0*$/.test(fraction.slice(scale))) return null;
    fraction = fraction.slice(0, scale);
  }
  const digits = (whole + fraction.padEnd(scale, '0')).replace(/^0+(?=.)/, '');
  if (digits.length > 16) return null;
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : null;
}

/** Entries per scale of a DecimalTextCache (a power of two: the slot is a hash's low bits). */
const decimalTextCacheSlotsPerScale = 1024;
/** Scales a DecimalTextCache remembers; larger ones are formatted every time. */
const decimalTextCacheScalesMax = 32;

/**
 * Remembers recently formatted decimal texts by (integer value, scale) in a fixed table
 * (direct-mapped: a value overwrites whatever shared its slot), so the prices, quantities
 * and zeros that every report, trade and answer repeats are formatted once, and values
 * seen once cost one slot write. The table never grows.
 */
export class DecimalTextCache {
  private readonly values = new Float64Array(decimalTextCacheSlotsPerScale * decimalTextCacheScalesMax);
  private readonly texts: (string | undefined)[] = new Array<string | undefined>(decimalTextCacheSlotsPerScale * decimalTextCacheScalesMax).fill(undefined);

  /** The slot of (value, scale), or -1 when the pair is not cacheable. */
  slotOf(value: number, scale: number): number {
    if (!(scale >= 0 && scale < decimalTextCacheScalesMax)) return -1;
    // Mix both 32-bit halves of the integer so values with many trailing zero bits spread.
    const low = value >>> 0;
    const high = (value / 4294967296) >>> 0;
    const hash = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
    return scale * decimalTextCacheSlotsPerScale + (hash >>> 22);
  }

  /** The text remembered in `slot` for `value`, if any. */
  get(slot: number, value: number): string | undefined {
    return this.values[slot] === value ? this.texts[slot] : undefined;
  }

  set(slot: number, value: number, text: string): void {
    this.values[slot] = value;
    this.texts[slot] = text;
  }
}

const formattedDecimals = new DecimalTextCache();

/** Formats an integer count of `scale` decimal places as a fixed decimal string. */
export function formatDecimal(value: number, scale: number): string {
  const slot = formattedDecimals.slotOf(value, scale);
  if (slot >= 0) {
    const known = formattedDecimals.get(slot, value);
    if (known !== undefined) return known;
  }
  const text = formatDecimalUncached(value, scale);
  if (slot >= 0) formattedDecimals.set(slot, value, text);
  return text;
}

function formatDecimalUncached(value: number, scale: number): string {
  const negative = value < 0;
  const digits = Math.abs(value).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${text}` : text;
}
