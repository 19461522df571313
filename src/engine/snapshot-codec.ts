// The byte format of engine snapshots: a growable little-endian writer and a bounds-checked
// reader of float64 numbers and UTF-8 strings, framed by a magic header and a CRC-32
// trailer. The reader throws SnapshotError on any truncation or checksum mismatch, so a
// corrupt snapshot is refused instead of restored into a wrong state.

import { crc32 } from '../lib/hash.ts';

/** "BRS1" in ASCII: identifies the format and its version. */
const snapshotMagic = 0x31535242;
const headerBytes = 8;
const trailerBytes = 4;
/** Longest string a snapshot may hold (symbols, ids, spec JSON are far shorter). */
const snapshotStringBytesMax = 1 << 20;

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class SnapshotWriter {
  private bytes = new Uint8Array(1 << 16);
  private view = new DataView(this.bytes.buffer);
  private offset = headerBytes;

  private ensure(extra: number): void {
    if (this.offset + extra <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < this.offset + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.offset));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  number(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.offset, value, true);
    this.offset += 8;
  }

  string(value: string): void {
    if (value === '') {
      // Most clientOrderIds are empty: skip the encoder.
      this.ensure(4);
      this.view.setUint32(this.offset, 0, true);
      this.offset += 4;
      return;
    }
    const encoded = encoder.encode(value);
    this.ensure(4 + encoded.length);
    this.view.setUint32(this.offset, encoded.length, true);
    this.bytes.set(encoded, this.offset + 4);
    this.offset += 4 + encoded.length;
  }

  /** The framed snapshot: magic, body length, body, CRC-32 of everything before it. */
  finish(): Uint8Array {
    this.ensure(trailerBytes);
    this.view.setUint32(0, snapshotMagic, true);
    this.view.setUint32(4, this.offset - headerBytes, true);
    this.view.setUint32(this.offset, crc32(this.bytes, 0, this.offset), true);
    return this.bytes.slice(0, this.offset + trailerBytes);
  }
}

export class SnapshotReader {
  private readonly view: DataView;
  private offset = headerBytes;
  private readonly end: number;

  constructor(private readonly bytes: Uint8Array) {
    if (!(bytes instanceof Uint8Array) || bytes.length < headerBytes + trailerBytes) {
      throw new SnapshotError('snapshot corrupt: too short to hold a header and a checksum');
    }
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.view.getUint32(0, true) !== snapshotMagic) throw new SnapshotError('snapshot corrupt: bad magic (not a Bourse engine snapshot, or another version)');
    const bodyBytes = this.view.getUint32(4, true);
    if (headerBytes + bodyBytes + trailerBytes !== bytes.length) {
      throw new SnapshotError(`snapshot corrupt: length ${bytes.length} does not match the recorded body length ${bodyBytes}`);
    }
    this.end = headerBytes + bodyBytes;
    const expected = this.view.getUint32(this.end, true);
    const actual = crc32(bytes, 0, this.end);
    if (expected !== actual) throw new SnapshotError(`snapshot corrupt: CRC-32 mismatch (stored ${expected}, computed ${actual})`);
  }

  number(): number {
    if (this.offset + 8 > this.end) throw new SnapshotError('snapshot corrupt: truncated number');
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }

  /** A number that must be a safe integer within [min, max]. */
  integer(what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.number();
    if (!Number.isSafeInteger(value) || value < min || value > max) throw new SnapshotError(`snapshot corrupt: ${what} out of range: ${value}`);
    return value;
  }

  string(): string {
    if (this.offset + 4 > this.end) throw new SnapshotError('snapshot corrupt: truncated string length');
    const length = this.view.getUint32(this.offset, true);
    if (length > snapshotStringBytesMax || this.offset + 4 + length > this.end) throw new SnapshotError('snapshot corrupt: truncated string');
    const start = this.offset + 4;
    this.offset = start + length;
    if (length === 0) return '';
    try {
      return decoder.decode(this.bytes.subarray(start, start + length));
    } catch {
      throw new SnapshotError('snapshot corrupt: invalid UTF-8 in a string');
    }
  }

  /** Throws unless every byte of the body was read. */
  done(): void {
    if (this.offset !== this.end) throw new SnapshotError(`snapshot corrupt: ${this.end - this.offset} unread bytes`);
  }
}
