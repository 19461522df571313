// Exact decimal arithmetic for the order form: prices and quantities arrive and leave as
// decimal strings (the API boundary), and filter checks (tick size, step size, min
// notional) must be exact, so they run on BigInt-scaled integers, never floating point.
// Floating point is used only to draw numbers (depth bars, percentages).

export interface Decimal {
  /** The value times 10^scale. */
  units: bigint;
  scale: number;
}

const decimalPattern = /^(\d+)(?:\.(\d+))?$/;

/** Parses a plain non-negative decimal string ("12", "0.5", "1.250"); null when not one. */
export function parseDecimal(text: string): Decimal | null {
  const match = decimalPattern.exec(text.trim());
  if (!match) return null;
  const fraction = match[2] ?? '';
  return { units: BigInt(match[1]! + fraction), scale: fraction.length };
}

function rescale(value: Decimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

export function compareDecimal(left: Decimal, right: Decimal): number {
  const scale = Math.max(left.scale, right.scale);
  const a = rescale(left, scale);
  const b = rescale(right, scale);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function multiplyDecimal(left: Decimal, right: Decimal): Decimal {
  return { units: left.units * right.units, scale: left.scale + right.scale };
}

/** True when `value` is a whole multiple of `step` (step > 0). */
export function isMultipleOf(value: Decimal, step: Decimal): boolean {
  if (step.units === 0n) return true;
  const scale = Math.max(value.scale, step.scale);
  return rescale(value, scale) % rescale(step, scale) === 0n;
}

/** Rounds `value` down to a multiple of `step`. */
export function floorToStep(value: Decimal, step: Decimal): Decimal {
  if (step.units === 0n) return value;
  const scale = Math.max(value.scale, step.scale);
  const units = rescale(value, scale);
  const stepUnits = rescale(step, scale);
  return { units: units - (units % stepUnits), scale };
}

/** Divides with `scale` decimals, rounding down. */
export function divideDecimal(numerator: Decimal, denominator: Decimal, scale: number): Decimal {
  if (denominator.units === 0n) return { units: 0n, scale };
  // numerator.units / 10^ns  /  (denominator.units / 10^ds)  * 10^scale
  const shift = scale + denominator.scale - numerator.scale;
  const top = shift >= 0 ? numerator.units * 10n ** BigInt(shift) : numerator.units / 10n ** BigInt(-shift);
  return { units: top / denominator.units, scale };
}

/** Formats with exactly `scale` decimals (rounding down) or, without it, trailing zeros trimmed. */
export function formatDecimal(value: Decimal, scale?: number): string {
  let units = value.units;
  let currentScale = value.scale;
  if (scale !== undefined) {
    units = scale >= currentScale ? units * 10n ** BigInt(scale - currentScale) : units / 10n ** BigInt(currentScale - scale);
    currentScale = scale;
  }
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(currentScale + 1, '0');
  let whole = digits.slice(0, digits.length - currentScale);
  let fraction = currentScale > 0 ? digits.slice(digits.length - currentScale) : '';
  if (scale === undefined) fraction = fraction.replace(/0+$/, '');
  whole = whole === '' ? '0' : whole;
  return (negative ? '-' : '') + whole + (fraction ? '.' + fraction : '');
}

/** Decimal places of a step such as "0.01000000" (-> 2) or "1.00000000" (-> 0). */
export function stepDecimals(step: string): number {
  const trimmed = step.includes('.') ? step.replace(/0+$/, '') : step;
  const dot = trimmed.indexOf('.');
  return dot < 0 ? 0 : trimmed.length - dot - 1;
}

/** One formatter per decimal count: creating an Intl.NumberFormat per call is the slow part. */
const formatters = new Map<number, Intl.NumberFormat>();

/** Formats a decimal string with fixed decimals and thousands separators, for display only. */
export function fixed(text: string | number, decimals: number): string {
  const value = typeof text === 'number' ? text : Number(text);
  if (!Number.isFinite(value)) return '-';
  let formatter = formatters.get(decimals);
  if (!formatter) {
    formatter = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    formatters.set(decimals, formatter);
  }
  return formatter.format(value);
}

/** "1.50000000" -> "1.5", "10" -> "10", "2.000" -> "2". */
export function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}
