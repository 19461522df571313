// Strict parameter parsing for the Binance dialect: the query string and an
// application/x-www-form-urlencoded body together, every name at most once, only the
// names the endpoint reads, and typed getters that accept nothing but plain digits and
// plain decimal strings. It also extracts the signature and the exact signed payload
// (query string without `signature`, concatenated with the body without it).
import { ApiError, apiErrors } from './errors.ts';

/** Parameters in one request; more is refused (-1101). */
export const requestParametersMax = 64;

export interface ParsedParams {
  values: Map<string, string>;
  signature: string | null;
  /** totalParams as Binance defines it, without the signature parameter. */
  signedPayload: string;
}

function decodeComponent(text: string): string {
  if (text.indexOf('%') < 0 && text.indexOf('+') < 0) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw apiErrors.malformedQuery();
  }
}

/**
 * Splits one urlencoded string into entries; returns the string without its signature
 * segment (the other segments joined by '&', which is `raw` with that segment and one
 * neighbouring '&' cut out: segments are never empty).
 */
function splitInto(raw: string, values: Map<string, string>, found: { signature: string | null }): string {
  if (raw.length === 0) return '';
  let signatureStart = -1;
  let signatureEnd = -1;
  let start = 0;
  while (start <= raw.length) {
    let end = raw.indexOf('&', start);
    if (end < 0) end = raw.length;
    if (end === start) throw apiErrors.malformedQuery();
    let equals = raw.indexOf('=', start);
    if (equals > end) equals = -1;
    const name = decodeComponent(raw.slice(start, equals < 0 ? end : equals));
    const value = equals < 0 ? '' : decodeComponent(raw.slice(equals + 1, end));
    if (name === 'signature') {
      if (found.signature !== null) throw apiErrors.duplicateParameter();
      found.signature = value;
      signatureStart = start;
      signatureEnd = end;
    } else {
      if (values.has(name)) throw apiErrors.duplicateParameter();
      values.set(name, value);
      if (values.size > requestParametersMax) throw apiErrors.tooManyParameters();
    }
    start = end + 1;
  }
  if (signatureStart < 0) return raw;
  if (signatureEnd === raw.length) return signatureStart === 0 ? '' : raw.slice(0, signatureStart - 1);
  if (signatureStart === 0) return raw.slice(signatureEnd + 1);
  return raw.slice(0, signatureStart) + raw.slice(signatureEnd + 1);
}

export function parseParams(rawQuery: string, rawBody: string): ParsedParams {
  const values = new Map<string, string>();
  const found = { signature: null as string | null };
  const query = splitInto(rawQuery, values, found);
  const body = splitInto(rawBody, values, found);
  return { values, signature: found.signature, signedPayload: query + body };
}

/** Typed, strict access to one endpoint's parameters. */
export class ParamReader {
  constructor(readonly values: Map<string, string>) {}

  /** Refuses names the endpoint does not read (-1104), as Binance counts them. */
  allowOnly(allowed: ReadonlySet<string>, signed = false): void {
    let read = 0;
    for (const name of this.values.keys()) if (allowed.has(name)) read++;
    if (read !== this.values.size) {
      // The signature is read too when present; Binance counts it among the parameters.
      const signature = signed ? 1 : 0;
      throw apiErrors.unreadParameters(read + signature, this.values.size + signature);
    }
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string | undefined {
    const value = this.values.get(name);
    if (value === undefined) return undefined;
    if (value.length === 0) throw apiErrors.emptyParameter(name);
    return value;
  }

  required(name: string): string {
    const value = this.values.get(name);
    if (value === undefined || value.length === 0) throw apiErrors.mandatory(name);
    return value;
  }

  /** A non-negative integer written as plain digits. */
  integer(name: string, maximum = Number.MAX_SAFE_INTEGER): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (!/^[0-9]{1,16}$/.test(text)) throw apiErrors.illegalCharacters(name, '^[0-9]{1,20}$');
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value > maximum) throw apiErrors.illegalCharacters(name, '^[0-9]{1,20}$');
    return value;
  }

  enumeration<T extends string>(name: string, allowed: readonly T[], error: () => ApiError): T | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(text)) throw error();
    return text as T;
  }

  boolean(name: string): boolean | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (text === 'true' || text === 'TRUE') return true;
    if (text === 'false' || text === 'FALSE') return false;
    throw apiErrors.illegalCharacters(name, 'true, false');
  }

  /** A history `limit`: 1..maximum, the endpoint's default when absent. */
  limit(defaultLimit: number, maximum: number): number {
    const value = this.integer('limit');
    if (value === undefined) return defaultLimit;
    if (value < 1 || value > maximum) throw apiErrors.invalidParameter(`Parameter 'limit' must be between 1 and ${maximum}.`);
    return value;
  }
}

/** Splits `request.url` into path and raw query without decoding anything. */
export function rawQueryOf(url: string): string {
  const question = url.indexOf('?');
  return question < 0 ? '' : url.slice(question + 1);
}
