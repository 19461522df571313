// The WebSocket stream server in Binance's dialect: raw streams at `/ws/<stream>`,
// combined streams at `/stream?streams=a/b` (`{stream, data}` wrapper), user data streams
// on a listenKey, and SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY /
// GET_PROPERTY messages. It fans PubSub channels out to sockets, one PubSub subscription
// per channel however many sockets listen. Invariants: a socket never receives a gap in a
// stream silently; a client whose send buffer passes its bound is closed with code 4000
// ("slow consumer") and is sent nothing more; no client can slow another (sends never wait).

import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { Logger } from 'pino';
import type { Cache, PubSub } from '../../ports/cache.ts';
import type { EngineReads } from '../contracts.ts';
import { accountIdFromCache, listenKeyCacheKey, looksLikeListenKey, resolveStream, type ResolvedStream } from './streams/stream-names.ts';

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

export interface StreamServerDeps {
  pubsub: PubSub;
  cache: Cache;
  reads: EngineReads;
  logger: Logger;
  limits?: Partial<StreamServerLimits>;
  clock?: () => number;
}

export interface StreamServerStats {
  connections: number;
  channels: number;
  slowConsumerCloses: number;
  floodCloses: number;
  messagesSent: number;
}

export interface StreamServer {
  stats(): StreamServerStats;
  /** Sends `serverShutdown` to every client, closes them (1001) and detaches from the HTTP server. */
  close(): Promise<void>;
}

interface ChannelEntry {
  connections: Set<Connection>;
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

  constructor(
    readonly socket: WebSocket,
    combined: boolean,
    readonly openedByListenKey: boolean,
    nowMs: number,
  ) {
    this.combined = combined;
    this.lastPongMs = nowMs;
    this.openedAtMs = nowMs;
  }

  /** Channel -> stream names of this connection that read it (kept with `streams`). */
  private readonly channelNames = new Map<string, string[]>();

  /** Stream names of this connection that read `channel`. */
  namesOf(channel: string): readonly string[] {
    return this.channelNames.get(channel) ?? [];
  }

  addStream(stream: ResolvedStream): void {
    if (this.streams.has(stream.name)) return;
    this.streams.set(stream.name, stream);
    const names = this.channelNames.get(stream.channel);
    if (names) names.push(stream.name);
    else this.channelNames.set(stream.channel, [stream.name]);
  }

  /** Removes a stream; returns its channel, or null when it was not subscribed. */
  removeStream(name: string): string | null {
    const stream = this.streams.get(name);
    if (!stream) return null;
    this.streams.delete(name);
    const names = this.channelNames.get(stream.channel)!.filter((other) => other !== name);
    if (names.length === 0) this.channelNames.delete(stream.channel);
    else this.channelNames.set(stream.channel, names);
    return stream.channel;
  }
}

export function attachStreamServer(httpServer: HttpServer, deps: StreamServerDeps): StreamServer {
  const limits: StreamServerLimits = { ...defaultStreamServerLimits, ...deps.limits };
  const clock = deps.clock ?? Date.now;
  const logger = deps.logger.child({ component: 'streams' });
  const server = new WebSocketServer({ noServer: true, maxPayload: limits.incomingMessageBytesMax, perMessageDeflate: false, clientTracking: false });
  const connections = new Set<Connection>();
  const channels = new Map<string, ChannelEntry>();
  const counters = { slowConsumerCloses: 0, floodCloses: 0, messagesSent: 0 };
  let closed = false;

  /** Sends a text frame; fan-out passes one pre-encoded Buffer to every socket. */
  function send(connection: Connection, text: string | Buffer): void {
    if (connection.closing) return;
    const socket = connection.socket;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount + text.length > limits.sendBufferBytesMax) {
      // Never skip a message silently: stop here and tell the client why.
      counters.slowConsumerCloses += 1;
      logger.warn({ bufferedBytes: socket.bufferedAmount }, 'closing slow consumer');
      closeConnection(connection, streamCloseCodes.slowConsumer, 'slow consumer');
      return;
    }
    counters.messagesSent += 1;
    socket.send(text, { binary: false });
  }

  function closeConnection(connection: Connection, code: number, reason: string): void {
    if (connection.closing) return;
    connection.closing = true;
    try {
      connection.socket.close(code, reason);
    } catch {
      connection.socket.terminate();
    }
    connection.closeTimer = setTimeout(() => connection.socket.terminate(), limits.closeGraceMs);
    connection.closeTimer.unref();
    void dropConnection(connection);
  }

  function deliver(channel: string, message: string): void {
    const entry = channels.get(channel);
    if (!entry) return;
    // Encode once per message (and once per combined stream name), not once per socket.
    let raw: Buffer | null = null;
    const wrapped = new Map<string, Buffer>();
    for (const connection of entry.connections) {
      for (const name of connection.namesOf(channel)) {
        if (!connection.combined) {
          raw ??= Buffer.from(message);
          send(connection, raw);
          continue;
        }
        let frame = wrapped.get(name);
        if (frame === undefined) {
          frame = Buffer.from(`{"stream":${JSON.stringify(name)},"data":${message}}`);
          wrapped.set(name, frame);
        }
        send(connection, frame);
      }
    }
  }

  async function joinChannel(connection: Connection, channel: string): Promise<void> {
    let entry = channels.get(channel);
    if (!entry) {
      entry = { connections: new Set(), ready: deps.pubsub.subscribe(channel, (message) => deliver(channel, message)) };
      channels.set(channel, entry);
      entry.ready.catch((error) => {
        logger.error({ err: error, channel }, 'pubsub subscribe failed');
        channels.delete(channel);
      });
    }
    entry.connections.add(connection);
    await entry.ready;
  }

  async function leaveChannel(connection: Connection, channel: string): Promise<void> {
    if (connection.namesOf(channel).length > 0) return;
    const entry = channels.get(channel);
    if (!entry) return;
    entry.connections.delete(connection);
    if (entry.connections.size > 0) return;
    channels.delete(channel);
    try {
      const unsubscribe = await entry.ready;
      await unsubscribe();
    } catch (error) {
      logger.warn({ err: error, channel }, 'pubsub unsubscribe failed');
    }
  }

  async function addStreams(connection: Connection, streams: ResolvedStream[]): Promise<void> {
    for (const stream of streams) connection.addStream(stream);
    await Promise.all(streams.map((stream) => joinChannel(connection, stream.channel)));
  }

  async function removeStreams(connection: Connection, names: string[]): Promise<void> {
    const left: string[] = [];
    for (const name of names) {
      const channel = connection.removeStream(name);
      if (channel !== null) left.push(channel);
    }
    await Promise.all([...new Set(left)].map((channel) => leaveChannel(connection, channel)));
  }

  async function dropConnection(connection: Connection): Promise<void> {
    if (!connections.delete(connection)) return;
    const names = [...connection.streams.keys()];
    await removeStreams(connection, names);
  }

  function reply(connection: Connection, id: RequestId, result: unknown): void {
    send(connection, JSON.stringify({ result, id }));
  }

  function replyError(connection: Connection, id: RequestId, code: number, msg: string): void {
    send(connection, JSON.stringify({ error: { code, msg }, id }));
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

  function onConnection(socket: WebSocket, combined: boolean, openedByListenKey: boolean, streams: ResolvedStream[]): void {
    const connection = new Connection(socket, combined, openedByListenKey, clock());
    connections.add(connection);
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
    server.handleUpgrade(request, socket, head, (webSocket) => onConnection(webSocket, combined, openedByListenKey, streams));
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
        send(connection, connection.combined ? `{"stream":${JSON.stringify(stream.name)},"data":${event}}` : event);
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
        send(connection, shutdown);
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
