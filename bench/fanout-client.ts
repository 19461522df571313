// The fan-out benchmark's lean WebSocket client: a plain TCP socket that does the RFC 6455
// opening handshake itself and then reads server frames in place, so 5,000 of them in one
// process cost little next to the server they measure. Per message it reads the stream kind
// and the event time `E` straight from the bytes (no string, no JSON); every frame of one
// TCP read shares one receipt time. It answers pings, records the close code, and treats
// anything a server of ours never sends (masked or fragmented frames) as a protocol error.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const handshakeGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Bytes of response header accepted before the handshake counts as failed. */
const handshakeBytesMax = 16 * 1024;
/** Combined-stream payloads start with this; the byte after it says which stream. */
const combinedPrefix = Buffer.from('{"stream":"btcusdt@');
const eventTimeKey = Buffer.from('"E":');
/** How far into a payload `"E":` is looked for (Binance puts it second, right after "e"). */
const eventTimeSearchBytesMax = 96;
const opcodeText = 0x1;
const opcodeClose = 0x8;
const opcodePing = 0x9;
const opcodePong = 0xa;

export const streamKindTrade = 0;
export const streamKindDepth = 1;
export const streamKindOther = 2;

/** Receives every text message: its stream kind and event time (NaN when it has none). */
export type MessageSink = (client: LeanClient, kind: number, eventMs: number, receivedMs: number) => void;

export class LeanClient {
  private readonly socket: Socket;
  private readonly key = randomBytes(16).toString('base64');
  private pending: Buffer | null = null;
  private upgraded = false;
  messages = 0;
  tradeMessages = 0;
  depthMessages = 0;
  protocolErrors = 0;
  closeCode = 0;
  closed = false;
  readonly opened: Promise<boolean>;

  constructor(
    host: string,
    port: number,
    path: string,
    private readonly sink: MessageSink,
    private readonly onClose: (client: LeanClient) => void,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.opened = new Promise<boolean>((resolveOpened) => {
      this.socket.once('connect', () => {
        this.socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      const onData = (chunk: Buffer) => {
        if (!this.upgraded) {
          const buffered = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
          const end = buffered.indexOf('\r\n\r\n');
          if (end < 0) {
            this.pending = buffered;
            if (buffered.length > handshakeBytesMax) this.socket.destroy();
            return;
          }
          const head = buffered.subarray(0, end).toString('latin1');
          const accept = createHash('sha1').update(this.key + handshakeGuid).digest('base64');
          if (!head.startsWith('HTTP/1.1 101') || !head.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) {
            this.socket.destroy();
            return;
          }
          this.upgraded = true;
          this.pending = null;
          resolveOpened(true);
          const rest = buffered.subarray(end + 4);
          if (rest.length > 0) this.read(rest);
          return;
        }
        this.read(chunk);
      };
      this.socket.on('data', onData);
      this.socket.once('close', () => {
        resolveOpened(false);
        if (!this.closed) {
          this.closed = true;
          this.onClose(this);
        }
      });
      this.socket.on('error', () => undefined);
    });
  }

  private read(chunk: Buffer): void {
    const receivedMs = performance.timeOrigin + performance.now();
    let data = chunk;
    if (this.pending !== null) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let offset = 0;
    const length = data.length;
    while (length - offset >= 2) {
      const first = data[offset]!;
      const second = data[offset + 1]!;
      let payloadBytes = second & 0x7f;
      let headerBytes = 2;
      if ((second & 0x80) !== 0 || (first & 0x80) === 0) {
        // Servers never mask, and ours never fragment.
        this.protocolErrors += 1;
        this.socket.destroy();
        return;
      }
      if (payloadBytes === 126) {
        if (length - offset < 4) break;
        payloadBytes = data.readUInt16BE(offset + 2);
        headerBytes = 4;
      } else if (payloadBytes === 127) {
        if (length - offset < 10) break;
        payloadBytes = data.readUIntBE(offset + 4, 6);
        headerBytes = 10;
      }
      if (length - offset < headerBytes + payloadBytes) break;
      const start = offset + headerBytes;
      const end = start + payloadBytes;
      offset = end;
      const opcode = first & 0x0f;
      if (opcode === opcodeText) this.message(data, start, end, receivedMs);
      else if (opcode === opcodePing) this.control(opcodePong, data.subarray(start, end));
      else if (opcode === opcodeClose) {
        this.closeCode = payloadBytes >= 2 ? data.readUInt16BE(start) : 1005;
        this.control(opcodeClose, data.subarray(start, Math.min(end, start + 2)));
        this.socket.end();
        return;
      }
    }
    if (offset < length) this.pending = Buffer.from(data.subarray(offset));
  }

  private message(data: Buffer, start: number, end: number, receivedMs: number): void {
    this.messages += 1;
    let kind = streamKindOther;
    if (end - start > combinedPrefix.length && data.compare(combinedPrefix, 0, combinedPrefix.length, start, start + combinedPrefix.length) === 0) {
      const letter = data[start + combinedPrefix.length];
      if (letter === 0x74 /* t */) kind = streamKindTrade;
      else if (letter === 0x64 /* d */) kind = streamKindDepth;
    }
    if (kind === streamKindTrade) this.tradeMessages += 1;
    else if (kind === streamKindDepth) this.depthMessages += 1;
    let eventMs = Number.NaN;
    const keyAt = data.indexOf(eventTimeKey, start);
    if (keyAt >= 0 && keyAt < Math.min(end, start + eventTimeSearchBytesMax)) {
      let value = 0;
      let index = keyAt + eventTimeKey.length;
      for (; index < end; index++) {
        const digit = data[index]! - 0x30;
        if (digit < 0 || digit > 9) break;
        value = value * 10 + digit;
      }
      if (index > keyAt + eventTimeKey.length) eventMs = value;
    }
    this.sink(this, kind, eventMs, receivedMs);
  }

  /** A masked control frame (clients must mask; a zero mask keeps the payload as is). */
  private control(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = 0x80 | opcode;
    frame[1] = 0x80 | payload.length;
    payload.copy(frame, 6);
    this.socket.write(frame);
  }

  terminate(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
