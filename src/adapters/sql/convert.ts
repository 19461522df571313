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

// Conversions of values sent to PostgreSQL as array parameters. Batched writes pass each
// column as one array; sent as a JavaScript array, the driver quotes and escapes every
// element one by one (PGlite with two regular expressions per element), which costs more
// than the insert itself for wide batches. These build the array's text form directly:
// the statement casts it (`$1::bigint[]`), so PostgreSQL reads exactly what it read before.

/**
 * `{1,2,NULL}`: the text form of an integer array (null is NULL). Anything but an integer
 * (NaN, 1.5, 1e+21, undefined) yields text that the `::bigint[]` cast refuses, so a bad
 * value fails the statement rather than being stored.
 */
export function sqlIntegerArray(values: readonly (number | null)[]): string {
  return `{${values.map((value) => (value === null ? 'NULL' : String(value))).join(',')}}`;
}

/** `{"a","b\"c",NULL}`: the text form of a text array, every element quoted and escaped. */
export function sqlTextArray(values: readonly (string | null)[]): string {
  return `{${values.map((value) => (value === null ? 'NULL' : `"${value.replace(/[\\"]/g, '\\$&')}"`)).join(',')}}`;
}
