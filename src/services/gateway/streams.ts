// The WebSocket stream server in Binance's dialect: raw streams at `/ws/<stream>`,
// combined streams at `/stream?streams=a/b` (`{stream, data}` wrapper), user data streams
// on a listenKey, and SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY /
// GET_PROPERTY messages. It fans PubSub channels out to sockets, one PubSub subscription
// per channel however many sockets listen: each message becomes one ready WebSocket frame
// per stream name (raw, and combined when a combined client listens), shared by the sockets
// indexed under that name. The frames a socket is due are gathered and leave in one write
// when the flush after the event-loop turn reaches it; sockets due the same frames in the
// same order share one joined Buffer (PendingFrames), so the common case costs one Buffer
// per turn and one write per socket, whatever the number of messages. The flush writes a
// bounded slice of sockets per turn, so other work runs between slices. Invariants: a socket
// never receives a gap in a stream silently; a client whose send buffer passes its bound is
// closed with code 4000 ("slow consumer") and is sent nothing more; no client can slow
// another (sends never wait).

import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { Logger } from 'pino';
import type { Cache, PubSub } from '../../ports/cache.ts';
import type { EngineReads } from '../contracts.ts';
import { accountIdFromCache, listenKeyCacheKey, looksLikeListenKey, resolveStream, type ResolvedStream } from './streams/stream-names.ts';
import { textFrame } from './streams/frames.ts';

export interface StreamServerLimits {
  connectionsMax: number;
  /** Binance: a connection may listen to at most 1024 streams. */
  streamsPerConnectionMax: number;
  /** Binance: 5 incoming messages (text, ping or pong frames) per second; more closes the socket. */
  incomingMessagesPerSecondMax: number;
  /** Largest incoming frame accepted. */
  incomingMessageBytesMax: number;
  pingIntervalMs: number;
  /** A socket that has not answered a ping for this long is dropped. */
  pongTimeoutMs: number;
  /** Bytes a socket may have queued but unsent before it is closed as a slow consumer. */
  sendBufferBytesMax: number;
  /**
   * Bytes gathered for one socket before they are written early (without waiting for the
   * flush to reach it), so a burst reaches the kernel instead of counting against
   * `sendBufferBytesMax`.
   */
  pendingBytesMax: number;
  /**
   * Sockets written per slice of a flush; between slices the event loop serves other work
   * (orders, fsync completions, the next engine batch), so a fan-out to thousands of sockets
   * never holds it for long, and messages published meanwhile join the frames of the sockets
   * not yet written (one write for both).
   */
  flushSocketsPerSlice: number;
  /** After a close frame is queued, how long the socket has to take it before it is destroyed. */
  closeGraceMs: number;
  /** How often live listenKeys are checked for expiry. */
  listenKeyCheckIntervalMs: number;
  /** Binance closes every connection after 24 hours. */
  connectionLifetimeMs: number;
}

export const defaultStreamServerLimits: StreamServerLimits = {
  connectionsMax: 10_000,
  streamsPerConnectionMax: 1024,
  incomingMessagesPerSecondMax: 5,
  incomingMessageBytesMax: 64 * 1024,
  pingIntervalMs: 20_000,
  pongTimeoutMs: 60_000,
  sendBufferBytesMax: 4 * 1024 * 1024,
  pendingBytesMax: 64 * 1024,
  flushSocketsPerSlice: 500,
  closeGraceMs: 5_000,
  listenKeyCheckIntervalMs: 30_000,
  connectionLifetimeMs: 24 * 60 * 60 * 1000,
};

/** Close codes this server uses; 4000-4999 are ours. */
export const streamCloseCodes = {
  serverShutdown: 1001,
  policyFlood: 1008,
  slowConsumer: 4000,
  listenKeyExpired: 4001,
  pongTimeout: 4002,
  lifetimeReached: 4003,
} as const;

/** The counters this server records directly (the rest are read from `stats()` at scrape time). */
export interface StreamServerMetrics {
  wsConnectionsOpened: { inc(amount?: number): void };
  wsMessagesDropped: { inc(amount?: number): void };
}

export interface StreamServerDeps {
  pubsub: PubSub;
  cache: Cache;
  reads: EngineReads;
  logger: Logger;
  limits?: Partial<StreamServerLimits>;
  clock?: () => number;
  metrics?: StreamServerMetrics;
}

export interface StreamServerStats {
  connections: number;
  channels: number;
  slowConsumerCloses: number;
  floodCloses: number;
  messagesSent: number;
  /** Messages not sent because the client was over its send buffer (it was then closed). */
  messagesDropped: number;
}

export interface StreamServer {
  stats(): StreamServerStats;
  /** Sends `serverShutdown` to every client, closes them (1001) and detaches from the HTTP server. */
  close(): Promise<void>;
}

interface ChannelEntry {
  /** Stream name -> the connections subscribed under that name (aliases share a channel). */
  subscribers: Map<string, Set<Connection>>;
  ready: Promise<() => Promise<void>>;
}

type RequestId = number | string | null;

const methods = ['SUBSCRIBE', 'UNSUBSCRIBE', 'LIST_SUBSCRIPTIONS', 'SET_PROPERTY', 'GET_PROPERTY'];

class Connection {
  combined: boolean;
  /** Stream name -> resolved stream, in subscription order. */
  readonly streams = new Map<string, ResolvedStream>();
  messageWindowStartMs = 0;
  messagesInWindow = 0;
  lastPongMs: number;
  readonly openedAtMs: number;
  closing = false;
  closeTimer: NodeJS.Timeout | null = null;
  /** The frames gathered for this socket since it was last written (null: none). */
  pending: PendingFrames | null = null;
  /** True while this connection waits in a flush list (it is then in exactly one). */
  flushListed = false;

  constructor(
    readonly socket: WebSocket,
    /** The upgraded TCP socket under `socket`: ready frames are written to it directly. */
    readonly transport: Duplex,
    combined: boolean,
    readonly openedByListenKey: boolean,
    nowMs: number,
  ) {
    this.combined = combined;
    this.lastPongMs = nowMs;
    this.openedAtMs = nowMs;
  }
}

/** The root of a PendingFrames tree carries no frame. */
const noFrame = Buffer.alloc(0);

/**
 * One node of the tree of frame sequences gathered since a flush began: the path from the
 * root to a node is the sequence of frames a socket is due. Sockets subscribed alike walk the
 * same path (delivery visits each message's subscribers in turn), so they end on one node and
 * get its joined Buffer, built once. Frames and joined Buffers are never modified.
 */
class PendingFrames {
  /** The child for the first frame appended after this one: nearly every node has only that. */
  firstChildFrame: Buffer | null = null;
  firstChild: PendingFrames | null = null;
  otherChildren: Map<Buffer, PendingFrames> | null = null;
  private joined: Buffer | null = null;

  constructor(
    readonly parent: PendingFrames | null,
    readonly frame: Buffer,
    /** Bytes of every frame on the path from the root to here. */
    readonly bytes: number,
  ) {}

  /** The node of this sequence followed by `frame`. */
  child(frame: Buffer): PendingFrames {
    if (this.firstChildFrame === frame) return this.firstChild!;
    if (this.firstChild === null) {
      this.firstChildFrame = frame;
      this.firstChild = new PendingFrames(this, frame, this.bytes + frame.length);
      return this.firstChild;
    }
    this.otherChildren ??= new Map();
    let child = this.otherChildren.get(frame);
    if (child === undefined) {
      child = new PendingFrames(this, frame, this.bytes + frame.length);
      this.otherChildren.set(frame, child);
    }
    return child;
  }

  /** The frames from the root to here in one Buffer (the frame itself when it is the only one). */
  join(): Buffer {
    if (this.joined !== null) return this.joined;
    if (this.parent === null || this.parent.parent === null) {
      this.joined = this.frame;
      return this.joined;
    }
    const frames: Buffer[] = [this.frame];
    for (let node = this.parent; node.parent !== null; node = node.parent) frames.push(node.frame);
    frames.reverse();
    this.joined = Buffer.concat(frames, this.bytes);
    return this.joined;
  }
}

export function attachStreamServer(httpServer: HttpServer, deps: StreamServerDeps): StreamServer {
  const limits: StreamServerLimits = { ...defaultStreamServerLimits, ...deps.limits };
  const clock = deps.clock ?? Date.now;
  const logger = deps.logger.child({ component: 'streams' });
  const server = new WebSocketServer({ noServer: true, maxPayload: limits.incomingMessageBytesMax, perMessageDeflate: false, clientTracking: false });
  const connections = new Set<Connection>();
  const channels = new Map<string, ChannelEntry>();
  const counters = { slowConsumerCloses: 0, floodCloses: 0, messagesSent: 0, messagesDropped: 0 };
  let closed = false;

  // The frames gathered since the last flush began: the tree their sequences share, and the
  // sockets that have some (each listed once until it is written). A flush takes the list
  // and writes it a slice per turn; a socket still waiting in it keeps gathering frames, so
  // what arrives meanwhile leaves in the same write. Sockets already written start new
  // sequences in the next list.
  let gatheredFrames = new PendingFrames(null, noFrame, 0);
  let pendingConnections: Connection[] = [];
  let flushing: Connection[] = [];
  let flushIndex = 0;
  let flushScheduled = false;

  function scheduleFlush(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flushSlice);
  }

  function flushSlice(): void {
    flushScheduled = false;
    if (flushIndex >= flushing.length) {
      flushing = pendingConnections;
      flushIndex = 0;
      pendingConnections = [];
      gatheredFrames = new PendingFrames(null, noFrame, 0);
    }
    const end = Math.min(flushing.length, flushIndex + limits.flushSocketsPerSlice);
    for (; flushIndex < end; flushIndex++) {
      const connection = flushing[flushIndex]!;
      connection.flushListed = false;
      // A closing socket had its frames written by closeConnection; none were gathered since.
      writePending(connection);
    }
    if (flushIndex >= flushing.length) {
      flushing = [];
      flushIndex = 0;
    }
    if (flushing.length > 0 || pendingConnections.length > 0) scheduleFlush();
  }

  /** Writes the frames gathered for a socket, in one write. */
  function writePending(connection: Connection): void {
    const pending = connection.pending;
    if (pending === null) return;
    connection.pending = null;
    const transport = connection.transport;
    if (!transport.writable) return;
    transport.write(pending.join());
  }

  /**
   * Queues one ready frame (see frames.ts) for a socket. The same Buffer goes to every
   * socket of a stream: no per-socket encoding, framing or copying. The socket's queue
   * (bytes written but not yet taken by the kernel, plus the frames gathered in this turn)
   * is checked before each frame.
   */
  function sendFrame(connection: Connection, frame: Buffer): void {
    if (connection.closing) return;
    const transport = connection.transport;
    if (connection.socket.readyState !== connection.socket.OPEN || !transport.writable) return;
    const pending = connection.pending;
    const queuedBytes = transport.writableLength + (pending === null ? 0 : pending.bytes);
    if (queuedBytes + frame.length > limits.sendBufferBytesMax) {
      // Never skip a message silently: stop here and tell the client why.
      counters.slowConsumerCloses += 1;
      counters.messagesDropped += 1;
      deps.metrics?.wsMessagesDropped.inc(1);
      logger.warn({ bufferedBytes: queuedBytes }, 'closing slow consumer');
      closeConnection(connection, streamCloseCodes.slowConsumer, 'slow consumer');
      return;
    }
    counters.messagesSent += 1;
    const gathered = (pending ?? gatheredFrames).child(frame);
    connection.pending = gathered;
    if (!connection.flushListed) {
      connection.flushListed = true;
      pendingConnections.push(connection);
      scheduleFlush();
    }
    // A burst larger than the bound goes to the kernel now; the socket's next frame starts
    // a new sequence, written when the flush reaches the socket.
    if (gathered.bytes >= limits.pendingBytesMax) writePending(connection);
  }

  function sendText(connection: Connection, text: string): void {
    if (connection.closing) return;
    sendFrame(connection, textFrame(text));
  }

  function closeConnection(connection: Connection, code: number, reason: string): void {
    if (connection.closing) return;
    connection.closing = true;
    // The close frame follows the frames gathered so far: they are written first.
    writePending(connection);
    try {
      connection.socket.close(code, reason);
    } catch {
      connection.socket.terminate();
    }
    connection.closeTimer = setTimeout(() => connection.socket.terminate(), limits.closeGraceMs);
    connection.closeTimer.unref();
    void dropConnection(connection);
  }

  /**
   * One PubSub message to every subscriber of its channel: one frame per stream name and
   * form (raw, combined), built only when some subscriber needs it, never one per socket.
   */
  function deliver(entry: ChannelEntry, message: string): void {
    let raw: Buffer | null = null;
    for (const [name, subscribers] of entry.subscribers) {
      let combined: Buffer | null = null;
      for (const connection of subscribers) {
        if (connection.combined) {
          combined ??= textFrame(`{"stream":${JSON.stringify(name)},"data":${message}}`);
          sendFrame(connection, combined);
        } else {
          raw ??= textFrame(message);
          sendFrame(connection, raw);
        }
      }
    }
  }

  function joinChannel(connection: Connection, stream: ResolvedStream): Promise<unknown> {
    const channel = stream.channel;
    let entry = channels.get(channel);
    if (!entry) {
      const created: ChannelEntry = { subscribers: new Map(), ready: deps.pubsub.subscribe(channel, (message) => deliver(created, message)) };
      entry = created;
      channels.set(channel, created);
      created.ready.catch((error) => {
        logger.error({ err: error, channel }, 'pubsub subscribe failed');
        if (channels.get(channel) === created) channels.delete(channel);
      });
    }
    const subscribers = entry.subscribers.get(stream.name);
    if (subscribers) subscribers.add(connection);
    else entry.subscribers.set(stream.name, new Set([connection]));
    return entry.ready;
  }

  async function leaveChannel(connection: Connection, stream: ResolvedStream): Promise<void> {
    const channel = stream.channel;
    const entry = channels.get(channel);
    if (!entry) return;
    const subscribers = entry.subscribers.get(stream.name);
    if (!subscribers || !subscribers.delete(connection)) return;
    if (subscribers.size > 0) return;
    entry.subscribers.delete(stream.name);
    if (entry.subscribers.size > 0) return;
    channels.delete(channel);
    try {
      const unsubscribe = await entry.ready;
      await unsubscribe();
    } catch (error) {
      logger.warn({ err: error, channel }, 'pubsub unsubscribe failed');
    }
  }

  async function addStreams(connection: Connection, streams: ResolvedStream[]): Promise<void> {
    const joined: Promise<unknown>[] = [];
    for (const stream of streams) {
      if (connection.streams.has(stream.name)) continue;
      connection.streams.set(stream.name, stream);
      joined.push(joinChannel(connection, stream));
    }
    await Promise.all(joined);
  }

  async function removeStreams(connection: Connection, names: string[]): Promise<void> {
    const left: Promise<void>[] = [];
    for (const name of names) {
      const stream = connection.streams.get(name);
      if (!stream) continue;
      connection.streams.delete(name);
      left.push(leaveChannel(connection, stream));
    }
    await Promise.all(left);
  }

  async function dropConnection(connection: Connection): Promise<void> {
    if (!connections.delete(connection)) return;
    const names = [...connection.streams.keys()];
    await removeStreams(connection, names);
  }

  function reply(connection: Connection, id: RequestId, result: unknown): void {
    sendText(connection, JSON.stringify({ result, id }));
  }

  function replyError(connection: Connection, id: RequestId, code: number, msg: string): void {
    sendText(connection, JSON.stringify({ error: { code, msg }, id }));
  }

  async function resolveAll(names: unknown[]): Promise<ResolvedStream[] | null> {
    const resolved: ResolvedStream[] = [];
    for (const name of names) {
      const stream = typeof name === 'string' ? await resolveStream(name, deps.reads, deps.cache) : null;
      if (!stream) return null;
      resolved.push(stream);
    }
    return resolved;
  }

  async function onRequest(connection: Connection, text: string): Promise<void> {
    let request: unknown;
    try {
      request = JSON.parse(text);
    } catch {
      replyError(connection, null, 3, 'Invalid JSON: expected value at line 1 column 1');
      return;
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      replyError(connection, null, 3, 'Invalid JSON: expected an object');
      return;
    }
    const { method, params, id } = request as { method?: unknown; params?: unknown; id?: unknown };
    const validId = id === undefined || id === null || (typeof id === 'number' && Number.isSafeInteger(id)) ||
      (typeof id === 'string' && /^[A-Za-z0-9]{1,36}$/.test(id));
    if (!validId) {
      replyError(connection, null, 2, 'Invalid request: request ID must be an unsigned integer');
      return;
    }
    const requestId = (id ?? null) as RequestId;
    if (method === undefined) {
      replyError(connection, requestId, 2, 'Invalid request: missing field `method`');
      return;
    }
    if (typeof method !== 'string' || !methods.includes(method)) {
      replyError(connection, requestId, 2, `Invalid request: unknown variant ${JSON.stringify(method)}, expected one of ${methods.map((name) => `\`${name}\``).join(', ')}`);
      return;
    }
    switch (method) {
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        if (!Array.isArray(params) || params.length === 0 || !params.every((name) => typeof name === 'string')) {
          replyError(connection, requestId, 2, 'Invalid request: params must be a non-empty array of stream names');
          return;
        }
        if (method === 'UNSUBSCRIBE') {
          await removeStreams(connection, params as string[]);
          reply(connection, requestId, null);
          return;
        }
        const fresh = (params as string[]).filter((name) => !connection.streams.has(name));
        if (connection.streams.size + new Set(fresh).size > limits.streamsPerConnectionMax) {
          replyError(connection, requestId, 2, `Invalid request: too many streams; at most ${limits.streamsPerConnectionMax} per connection`);
          return;
        }
        const resolved = await resolveAll(fresh);
        if (!resolved) {
          replyError(connection, requestId, 2, 'Invalid request: invalid stream');
          return;
        }
        if (connection.closing) return;
        await addStreams(connection, resolved);
        reply(connection, requestId, null);
        return;
      }
      case 'LIST_SUBSCRIPTIONS':
        reply(connection, requestId, [...connection.streams.keys()]);
        return;
      case 'SET_PROPERTY': {
        if (!Array.isArray(params) || params.length !== 2) {
          replyError(connection, requestId, 2, 'Invalid request: too many parameters');
          return;
        }
        if (typeof params[0] !== 'string') {
          replyError(connection, requestId, 2, 'Invalid request: property name must be a string');
          return;
        }
        if (params[0] !== 'combined') {
          replyError(connection, requestId, 0, 'Unknown property');
          return;
        }
        if (typeof params[1] !== 'boolean') {
          replyError(connection, requestId, 1, 'Invalid value type: expected Boolean');
          return;
        }
        connection.combined = params[1];
        reply(connection, requestId, null);
        return;
      }
      case 'GET_PROPERTY': {
        if (!Array.isArray(params) || params.length !== 1 || typeof params[0] !== 'string') {
          replyError(connection, requestId, 2, 'Invalid request: property name must be a string');
          return;
        }
        if (params[0] !== 'combined') {
          replyError(connection, requestId, 0, 'Unknown property');
          return;
        }
        reply(connection, requestId, connection.combined);
        return;
      }
    }
  }

  /** Counts one incoming frame; closes the socket past Binance's 5 per second. */
  function countIncoming(connection: Connection): boolean {
    const nowMs = clock();
    if (nowMs - connection.messageWindowStartMs >= 1000) {
      connection.messageWindowStartMs = nowMs;
      connection.messagesInWindow = 0;
    }
    connection.messagesInWindow += 1;
    if (connection.messagesInWindow > limits.incomingMessagesPerSecondMax) {
      counters.floodCloses += 1;
      closeConnection(connection, streamCloseCodes.policyFlood, 'too many messages');
      return false;
    }
    return true;
  }

  function onConnection(socket: WebSocket, transport: Duplex, combined: boolean, openedByListenKey: boolean, streams: ResolvedStream[]): void {
    const connection = new Connection(socket, transport, combined, openedByListenKey, clock());
    connections.add(connection);
    deps.metrics?.wsConnectionsOpened.inc(1);
    socket.on('message', (data: RawData, isBinary: boolean) => {
      if (connection.closing || !countIncoming(connection)) return;
      if (isBinary) {
        replyError(connection, null, 3, 'Invalid JSON: binary frames are not accepted');
        return;
      }
      onRequest(connection, data.toString()).catch((error) => logger.error({ err: error }, 'stream request failed'));
    });
    socket.on('ping', () => { countIncoming(connection); });
    socket.on('pong', () => {
      connection.lastPongMs = clock();
      countIncoming(connection);
    });
    socket.on('close', () => {
      if (connection.closeTimer) clearTimeout(connection.closeTimer);
      connection.closing = true;
      void dropConnection(connection);
    });
    socket.on('error', (error) => logger.debug({ err: error }, 'socket error'));
    addStreams(connection, streams).catch((error) => logger.error({ err: error }, 'initial subscribe failed'));
  }

  function refuse(socket: Duplex, status: number, reason: string, body: object): void {
    const text = JSON.stringify(body);
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
  }

  async function onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    let combined: boolean;
    let names: string[];
    if (path === '/ws' || path.startsWith('/ws/')) {
      combined = false;
      names = path.slice(4).split('/').filter((name) => name.length > 0).map(decodeURIComponent);
    } else if (path === '/stream' || path === '/stream/') {
      combined = true;
      names = (url.searchParams.get('streams') ?? '').split('/').filter((name) => name.length > 0);
    } else {
      // Not ours: another upgrade handler may own it; answer 404 only if none does.
      if (httpServer.listenerCount('upgrade') <= 1) refuse(socket, 404, 'Not Found', { code: -1000, msg: 'Not found.' });
      return;
    }
    if (closed) return refuse(socket, 503, 'Service Unavailable', { code: -1016, msg: 'This service is no longer available.' });
    if (connections.size >= limits.connectionsMax) return refuse(socket, 429, 'Too Many Requests', { code: -1003, msg: 'Too many connections.' });
    if (names.length > limits.streamsPerConnectionMax) {
      return refuse(socket, 400, 'Bad Request', { code: 2, msg: `Invalid request: too many streams; at most ${limits.streamsPerConnectionMax} per connection` });
    }
    // Like Binance, a path name that is no stream (CCXT connects to `/ws/0`) opens a
    // connection without it; only an unknown listenKey is refused, so a client with an
    // expired key learns it at once instead of waiting for events that never come.
    const streams: ResolvedStream[] = [];
    for (const name of new Set(names)) {
      const stream = await resolveStream(name, deps.reads, deps.cache);
      if (stream) streams.push(stream);
      else if (looksLikeListenKey(name)) return refuse(socket, 400, 'Bad Request', { code: -1125, msg: 'This listenKey does not exist.' });
    }
    const openedByListenKey = streams.length > 0 && streams.every((stream) => stream.kind === 'user');
    server.handleUpgrade(request, socket, head, (webSocket) => onConnection(webSocket, socket, combined, openedByListenKey, streams));
  }

  const upgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    onUpgrade(request, socket, head).catch((error) => {
      logger.error({ err: error }, 'upgrade failed');
      socket.destroy();
    });
  };
  httpServer.on('upgrade', upgradeListener);

  // Keepalive, lifetime and listenKey expiry, once per interval for all sockets.
  const pingTimer = setInterval(() => {
    const nowMs = clock();
    for (const connection of connections) {
      if (connection.closing) continue;
      if (nowMs - connection.lastPongMs > limits.pongTimeoutMs) {
        // A dead peer never takes the close frame: the grace timer destroys the socket.
        closeConnection(connection, streamCloseCodes.pongTimeout, 'pong timeout');
      } else if (nowMs - connection.openedAtMs > limits.connectionLifetimeMs) {
        closeConnection(connection, streamCloseCodes.lifetimeReached, 'connection lifetime reached');
      } else {
        connection.socket.ping();
      }
    }
  }, limits.pingIntervalMs);
  pingTimer.unref();

  async function checkListenKeys(): Promise<void> {
    for (const connection of connections) {
      for (const stream of [...connection.streams.values()]) {
        if (stream.kind !== 'user' || connection.closing) continue;
        const accountId = accountIdFromCache(await deps.cache.get(listenKeyCacheKey(stream.listenKey)));
        if (accountId === stream.accountId) continue;
        const event = JSON.stringify({ e: 'listenKeyExpired', E: clock(), listenKey: stream.listenKey });
        sendText(connection, connection.combined ? `{"stream":${JSON.stringify(stream.name)},"data":${event}}` : event);
        await removeStreams(connection, [stream.name]);
        if (connection.openedByListenKey && connection.streams.size === 0) {
          closeConnection(connection, streamCloseCodes.listenKeyExpired, 'listenKey expired');
        }
      }
    }
  }
  let checking = false;
  const listenKeyTimer = setInterval(() => {
    if (checking) return;
    checking = true;
    checkListenKeys().catch((error) => logger.error({ err: error }, 'listenKey check failed')).finally(() => { checking = false; });
  }, limits.listenKeyCheckIntervalMs);
  listenKeyTimer.unref();

  return {
    stats: () => ({ connections: connections.size, channels: channels.size, ...counters }),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearInterval(pingTimer);
      clearInterval(listenKeyTimer);
      httpServer.off('upgrade', upgradeListener);
      const shutdown = JSON.stringify({ e: 'serverShutdown', E: clock() });
      const all = [...connections];
      const done = all.map((connection) => new Promise<void>((resolve) => {
        if (connection.socket.readyState === connection.socket.CLOSED) return resolve();
        connection.socket.once('close', () => resolve());
      }));
      for (const connection of all) {
        sendText(connection, shutdown);
        closeConnection(connection, streamCloseCodes.serverShutdown, 'server shutdown');
      }
      await Promise.race([Promise.all(done), new Promise((resolve) => setTimeout(resolve, limits.closeGraceMs).unref())]);
      for (const connection of all) {
        if (connection.closeTimer) clearTimeout(connection.closeTimer);
        connection.socket.terminate();
      }
      await Promise.all([...channels.values()].map(async (entry) => {
        try {
          await (await entry.ready)();
        } catch {
          // Already logged when the subscription failed.
        }
      }));
      channels.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
