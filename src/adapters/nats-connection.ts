// One place that opens NATS connections for the cluster adapters (JetStream logs, the
// engine lease, command requests), so every role gets the same clear start-up error when
// the server is unreachable instead of a bare ECONNREFUSED from deep inside the client.
import { connect, type NatsConnection } from '@nats-io/transport-node';

export type { NatsConnection };

/** How long a role waits for NATS at start-up before it gives up with a clear error. */
export const natsConnectTimeoutMs = 5000;

export const defaultNatsServers = 'nats://127.0.0.1:4222';

export async function connectNats(servers: string = process.env.BOURSE_NATS_URL ?? defaultNatsServers, name = 'bourse'): Promise<NatsConnection> {
  try {
    return await connect({
      servers: servers.split(',').map((server) => server.trim()),
      name,
      timeout: natsConnectTimeoutMs,
      // After start-up, keep reconnecting forever: a role survives a NATS restart.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  } catch (error) {
    throw new Error(`cannot reach NATS at ${servers} (set BOURSE_NATS_URL): ${(error as Error).message}`, { cause: error });
  }
}
