// Strict reading of Binance query parameters for the public market data routes: unknown
// or repeated parameters, non-decimal numbers and out-of-range limits are refused with
// Binance's error codes, before any data is read.

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const symbolPattern = /^[A-Z0-9-_.]{1,20}$/;
const unsignedPattern = /^(0|[1-9][0-9]{0,15})$/;

export class QueryReader {
  private readonly values = new Map<string, string>();

  constructor(query: unknown, private readonly allowed: readonly string[]) {
    const source = (query ?? {}) as Record<string, unknown>;
    const names = Object.keys(source);
    for (const name of names) {
      const value = source[name];
      if (Array.isArray(value)) throw new ApiError(400, -1101, 'Duplicate values for a parameter detected.');
      if (typeof value !== 'string') throw new ApiError(400, -1100, `Illegal characters found in parameter '${name}'.`);
      this.values.set(name, value);
    }
    const unknown = names.filter((name) => !allowed.includes(name));
    if (unknown.length > 0) {
      throw new ApiError(400, -1104, `Not all sent parameters were read; read '${names.length - unknown.length}' parameter(s) but was sent '${names.length}'.`);
    }
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  optionalText(name: string): string | undefined {
    const value = this.values.get(name);
    if (value === undefined) return undefined;
    if (value === '') throw new ApiError(400, -1105, `Parameter '${name}' was empty.`);
    return value;
  }

  requiredText(name: string): string {
    const value = this.values.get(name);
    if (value === undefined || value === '') {
      throw new ApiError(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
    }
    return value;
  }

  symbol(name = 'symbol'): string {
    const value = this.requiredText(name);
    if (!symbolPattern.test(value)) {
      throw new ApiError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '^[A-Z0-9-_.]{1,20}$'.`);
    }
    return value;
  }

  /** The `symbols` parameter: a JSON array of symbols, at least one, no repeats. */
  symbols(name = 'symbols'): string[] | undefined {
    const text = this.optionalText(name);
    if (text === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((item) => typeof item === 'string' && symbolPattern.test(item))) {
      throw new ApiError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'.`);
    }
    const symbols = parsed as string[];
    if (new Set(symbols).size !== symbols.length) throw new ApiError(400, -1151, 'Symbol is present multiple times in the list.');
    return symbols;
  }

  /** An optional unsigned integer parameter (plain decimal digits only). */
  unsigned(name: string): number | undefined {
    const text = this.optionalText(name);
    if (text === undefined) return undefined;
    if (!unsignedPattern.test(text) || !Number.isSafeInteger(Number(text))) {
      throw new ApiError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '0' to '9007199254740991'.`);
    }
    return Number(text);
  }

  /** `limit`: default when absent, error outside 1..max (or clamp to max when `clamp`). */
  limit(defaultValue: number, max: number, clamp = false): number {
    const text = this.optionalText('limit');
    if (text === undefined) return defaultValue;
    const value = unsignedPattern.test(text) ? Number(text) : Number.NaN;
    if (Number.isSafeInteger(value) && value >= 1 && (value <= max || clamp)) return Math.min(value, max);
    throw new ApiError(400, -1100, `Illegal characters found in parameter 'limit'; legal range is '1' to '${max}'.`);
  }
}
