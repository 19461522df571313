// A deterministic, dependency-free 64-bit FNV-1a hash over strings, built from two
// 32-bit lanes so it runs in the engine without BigInt or node:crypto. It identifies
// state for equality checks (replay, cross-checks); it is not a cryptographic hash.

export class Fnv64 {
  private high = 0xcbf29ce4;
  private low = 0x84222325;

  update(text: string): this {
    let high = this.high;
    let low = this.low;
    for (let index = 0; index < text.length; index++) {
      low ^= text.charCodeAt(index);
      // Multiply the 64-bit value by the FNV prime 0x100000001b3 in 16-bit pieces.
      const low16 = low & 0xffff;
      const lowHigh16 = low >>> 16;
      const productLow = low16 * 0x1b3;
      const productMid = lowHigh16 * 0x1b3 + (productLow >>> 16);
      const newLow = ((productMid & 0xffff) << 16) | (productLow & 0xffff);
      const carry = Math.floor(productMid / 0x10000);
      high = (Math.imul(high, 0x1b3) + Math.imul(low, 0x100) + carry) | 0;
      low = newLow | 0;
    }
    this.high = high;
    this.low = low;
    return this;
  }

  digestHex(): string {
    return (this.high >>> 0).toString(16).padStart(8, '0') + (this.low >>> 0).toString(16).padStart(8, '0');
  }
}

export function hashText(text: string): string {
  return new Fnv64().update(text).digestHex();
}

/** CRC-32 (IEEE) for record checksums in journals and snapshots. */
const crcTable = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = -1;
  for (let index = start; index < end; index++) crc = crcTable[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
