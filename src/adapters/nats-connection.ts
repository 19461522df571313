// One place that opens NATS connections for the cluster adapters (JetStream logs, the
// engine lease, command requests), so every role gets the same clear start-up error when
// the server is unreachable instead of a bare ECONNREFUSED from deep inside the client,
// and the same write coalescing (one socket write per event-loop turn).
import { connect, type NatsConnection } from '@nats-io/transport-node';

export type { NatsConnection };

/** How long a role waits for NATS at start-up before it gives up with a clear error. */
export const natsConnectTimeoutMs = 5000;

export const defaultNatsServers = 'nats://127.0.0.1:4222';

/** What coalescing needs of the client's transport (an internal of @nats-io/nats-core). */
interface FrameTransport {
  send(frame: Uint8Array): void;
  close?(error?: Error): Promise<void>;
}

/**
 * Makes `transport` write once per turn of the event loop: the client already merges what
 * one task writes, but a role answers, publishes and acknowledges from several callbacks
 * of the same turn, and on this kind of machine every socket write is a system call that
 * costs more than handling a small message. Frames keep their order; they leave at
 * setImmediate, i.e. right after the turn's I/O callbacks, so no timer delay is added.
 */
function coalesceWrites(transport: FrameTransport): FrameTransport {
  const send = transport.send.bind(transport);
  let frames: Uint8Array[] = [];
  let bytes = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (frames.length === 0) return;
    let out = frames[0]!;
    if (frames.length > 1) {
      out = new Uint8Array(bytes);
      let offset = 0;
      for (const frame of frames) {
        out.set(frame, offset);
        offset += frame.length;
      }
    }
    frames = [];
    bytes = 0;
    send(out);
  };
  // Whatever is still waiting goes out before the socket closes (close() right after a publish).
  if (typeof transport.close === 'function') {
    const close = transport.close.bind(transport);
    transport.close = (error?: Error): Promise<void> => {
      flush();
      return close(error);
    };
  }
  transport.send = (frame: Uint8Array): void => {
    frames.push(frame);
    bytes += frame.length;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return transport;
}

/**
 * Applies coalesceWrites to the connection's transport and to every transport it creates
 * on reconnect. Returns false (and changes nothing) when the client's internals are not
 * shaped as expected, so a client upgrade degrades to one write per task, never breaks.
 */
export function coalesceConnectionWrites(connection: NatsConnection): boolean {
  const protocol = (connection as unknown as { protocol?: { transport?: FrameTransport } }).protocol;
  if (!protocol || typeof protocol.transport?.send !== 'function') return false;
  let current = coalesceWrites(protocol.transport);
  Object.defineProperty(protocol, 'transport', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (next: FrameTransport) => {
      current = next && typeof next.send === 'function' ? coalesceWrites(next) : next;
    },
  });
  return true;
}

export async function connectNats(servers: string = process.env.BOURSE_NATS_URL ?? defaultNatsServers, name = 'bourse'): Promise<NatsConnection> {
  let connection: NatsConnection;
  try {
    connection = await connect({
      servers: servers.split(',').map((server) => server.trim()),
      name,
      timeout: natsConnectTimeoutMs,
      // After start-up, keep reconnecting forever: a role survives a NATS restart.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Without this the client builds an Error (a stack trace) for every request and
      // publish acknowledgement, in case it fails: a measurable share of a gateway's CPU.
      noAsyncTraces: true,
    });
  } catch (error) {
    throw new Error(`cannot reach NATS at ${servers} (set BOURSE_NATS_URL): ${(error as Error).message}`, { cause: error });
  }
  coalesceConnectionWrites(connection);
  return connection;
}
