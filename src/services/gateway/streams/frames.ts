// Server-to-client WebSocket text frames built once and written as they are to every socket
// that should receive them (RFC 6455, section 5.2). Invariant: a frame is final (FIN set),
// unmasked (servers never mask), uncompressed (the stream server turns permessage-deflate
// off) and never modified after it is built, so one Buffer may sit in many sockets' queues.

/** Text frame opcode with the FIN bit: one whole message per frame. */
const finalTextFrameByte = 0x81;
/** Payloads up to this length fit in the 7-bit length field. */
const shortPayloadBytesMax = 125;
/** Payloads up to this length use the 16-bit extended length field; longer ones the 64-bit one. */
const mediumPayloadBytesMax = 0xffff;

/** One complete, unmasked text frame carrying `text` as UTF-8: header and payload in one Buffer. */
export function textFrame(text: string): Buffer {
  const payloadBytes = Buffer.byteLength(text);
  const headerBytes = payloadBytes <= shortPayloadBytesMax ? 2 : payloadBytes <= mediumPayloadBytesMax ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + payloadBytes);
  frame[0] = finalTextFrameByte;
  if (headerBytes === 2) {
    frame[1] = payloadBytes;
  } else if (headerBytes === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(payloadBytes, 2);
  } else {
    frame[1] = 127;
    // Payloads are bounded far below 2^48 bytes (PubSub caps messages), so the top two bytes are zero.
    frame.writeUInt16BE(0, 2);
    frame.writeUIntBE(payloadBytes, 4, 6);
  }
  const written = frame.write(text, headerBytes, 'utf8');
  if (written !== payloadBytes) throw new Error(`text frame: wrote ${written} of ${payloadBytes} payload bytes`);
  return frame;
}
