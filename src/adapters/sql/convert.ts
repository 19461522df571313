// Conversions of values read from PostgreSQL. node-postgres (and our PGlite adapter, which
// matches it) returns BIGINT and NUMERIC as decimal strings: these helpers turn them into
// numbers only when that is exact, and throw otherwise, so no amount is ever rounded.

/** A BIGINT/INTEGER/NUMERIC column value as a safe integer; throws if it is not one. */
export function sqlInteger(value: unknown, what = 'value'): number {
  let result: number;
  if (typeof value === 'number') result = value;
  else if (typeof value === 'bigint') result = Number(value);
  else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) result = Number(value);
  else throw new Error(`${what}: expected an integer from SQL, got ${typeof value} ${String(value)}`);
  if (!Number.isSafeInteger(result) || (typeof value === 'bigint' && BigInt(result) !== value)) {
    throw new Error(`${what}: ${String(value)} is beyond the safe integer range`);
  }
  return result;
}

/** Like sqlInteger, but NULL stays null. */
export function sqlIntegerOrNull(value: unknown, what = 'value'): number | null {
  return value === null || value === undefined ? null : sqlInteger(value, what);
}

/** An exact integer of any size (SUMs of BIGINT come back as NUMERIC strings). */
export function sqlBigInt(value: unknown, what = 'value'): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  if (value === null || value === undefined) return 0n;
  throw new Error(`${what}: expected an integer from SQL, got ${typeof value} ${String(value)}`);
}
