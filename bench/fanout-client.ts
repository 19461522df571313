// The fan-out benchmark's lean WebSocket client: a plain TCP socket that does the RFC 6455
// opening handshake itself and then reads server frames in place, so 5,000 of them in one
// process cost little next to the server they measure. Every client reads into one shared
// buffer (net's `onread`: no Buffer per read, no stream events), which is safe because each
// read is parsed to the end before the next one can start; only an incomplete frame at the
// end of a read is copied aside. Per message it reads the stream kind and the event time `E`
// straight from the bytes (no string, no JSON); every frame of one TCP read shares one
// receipt time, taken as the read returns. It answers pings, records the close code, and
// treats anything a server of ours never sends (masked or fragmented frames) as a protocol error.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { newHistogram, recordMicroseconds, summarize } from '../src/tools/loadtest/recorder.ts';

const handshakeGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Bytes of response header accepted before the handshake counts as failed. */
const handshakeBytesMax = 16 * 1024;
/** Combined-stream payloads start with this; the byte after it says which stream. */
const combinedPrefix = Buffer.from('{"stream":"btcusdt@');
const eventTimeKey = Buffer.from('"E":');
/** How far into a payload `"E":` is looked for (Binance puts it second, right after "e"). */
const eventTimeSearchBytesMax = 96;
/** Bytes one TCP read may return; larger bursts take several reads. */
const readBufferBytes = 256 * 1024;
/** The read buffer every client shares (reads are handled one at a time, to the end). */
const sharedReadBuffer = Buffer.allocUnsafe(readBufferBytes);
const opcodeText = 0x1;
const opcodeClose = 0x8;
const opcodePing = 0x9;
const opcodePong = 0xa;

export const streamKindTrade = 0;
export const streamKindDepth = 1;
export const streamKindOther = 2;

/** Receives every text message: its stream kind and event time (NaN when it has none). */
export type MessageSink = (client: LeanClient, kind: number, eventMs: number, receivedMs: number) => void;

/** Whether `data` holds `prefix` at `offset` (the caller checks that it fits). */
function startsWith(data: Buffer, offset: number, prefix: Buffer): boolean {
  for (let index = 0; index < prefix.length; index++) if (data[offset + index] !== prefix[index]) return false;
  return true;
}

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
    let onData: (chunk: Buffer, length: number) => void = () => undefined;
    // The callback returns true: false would stop reading from the socket.
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: sharedReadBuffer,
        callback: (length: number, buffer: Uint8Array) => {
          onData(buffer as Buffer, length);
          return true;
        },
      },
    });
    this.opened = new Promise<boolean>((resolveOpened) => {
      this.socket.once('connect', () => {
        this.socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      onData = (shared: Buffer, length: number) => {
        if (!this.upgraded) {
          // The shared buffer is reused by the next read: keep a copy.
          const chunk = Buffer.from(shared.subarray(0, length));
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
          if (rest.length > 0) this.read(rest, rest.length);
          return;
        }
        this.read(shared, length);
      };
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

  /** Parses the first `chunkBytes` bytes of `chunk` (which may be the shared read buffer). */
  private read(chunk: Buffer, chunkBytes: number): void {
    const receivedMs = performance.timeOrigin + performance.now();
    let data = chunk;
    let length = chunkBytes;
    if (this.pending !== null) {
      data = Buffer.concat([this.pending, chunk.subarray(0, chunkBytes)]);
      length = data.length;
      this.pending = null;
    }
    let offset = 0;
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
    if (offset < length) this.pending = Buffer.from(data.subarray(offset, length));
  }

  private message(data: Buffer, start: number, end: number, receivedMs: number): void {
    this.messages += 1;
    let kind = streamKindOther;
    if (end - start > combinedPrefix.length && startsWith(data, start, combinedPrefix)) {
      const letter = data[start + combinedPrefix.length];
      if (letter === 0x74 /* t */) kind = streamKindTrade;
      else if (letter === 0x64 /* d */) kind = streamKindDepth;
    }
    if (kind === streamKindTrade) this.tradeMessages += 1;
    else if (kind === streamKindDepth) this.depthMessages += 1;
    let eventMs = Number.NaN;
    const searchEnd = Math.min(end, start + eventTimeSearchBytesMax) - eventTimeKey.length;
    for (let keyAt = start; keyAt <= searchEnd; keyAt++) {
      if (data[keyAt] !== 0x22 /* " */ || !startsWith(data, keyAt, eventTimeKey)) continue;
      let value = 0;
      let index = keyAt + eventTimeKey.length;
      for (; index < end; index++) {
        const digit = data[index]! - 0x30;
        if (digit < 0 || digit > 9) break;
        value = value * 10 + digit;
      }
      if (index > keyAt + eventTimeKey.length) eventMs = value;
      break;
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

/**
 * The client side of `bench:fanout -- --only streams`, run as a child process with an IPC
 * channel: `fanout-client.ts <port> <clients> <path>` connects the clients, says
 * `{ connected }`, then answers `{ reset }` (counts and CPU start over) and `{ report }`
 * (messages, CPU microseconds, latency percentiles in ms), and exits on `{ exit }`.
 */
async function runClientProcess(port: number, count: number, path: string): Promise<void> {
  const latency = newHistogram();
  let messages = 0;
  const clients: LeanClient[] = [];
  for (let first = 0; first < count; first += 250) {
    const batch: Promise<boolean>[] = [];
    for (let index = first; index < Math.min(count, first + 250); index++) {
      const client = new LeanClient('127.0.0.1', port, path, (_client, _kind, eventMs, receivedMs) => {
        messages += 1;
        if (!Number.isNaN(eventMs)) recordMicroseconds(latency, Math.max(0, receivedMs - eventMs) * 1000);
      }, () => undefined);
      clients.push(client);
      batch.push(client.opened);
    }
    await Promise.all(batch);
  }
  let cpuAtReset = process.cpuUsage();
  process.send!({ connected: clients.filter((client) => !client.closed).length });
  process.on('message', (message: { reset?: boolean; report?: boolean; exit?: boolean }) => {
    if (message.reset) {
      messages = 0;
      latency.reset();
      cpuAtReset = process.cpuUsage();
      process.send!({ reset: true });
    } else if (message.report) {
      const cpu = process.cpuUsage(cpuAtReset);
      process.send!({ messages, userMicroseconds: cpu.user, systemMicroseconds: cpu.system, latencyMs: summarize(latency) });
    } else if (message.exit) {
      for (const client of clients) client.terminate();
      process.exit(0);
    }
  });
}

if (process.argv[1]?.endsWith('fanout-client.ts') && process.send !== undefined) {
  const [port, count, path] = process.argv.slice(2);
  runClientProcess(Number(port), Number(count), path!).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
