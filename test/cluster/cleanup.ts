// Removes what a test cluster left in NATS (its command and event streams and its lease
// bucket), so test runs do not accumulate streams on the shared server.
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { ClusterSettings } from '../../src/cluster/settings.ts';

export async function destroyClusterStreams(settings: ClusterSettings): Promise<void> {
  const connection = await connect({ servers: settings.natsUrl });
  try {
    const manager = await jetstreamManager(connection);
    for (const stream of [settings.commandStream, settings.eventStream, `KV_${settings.leaseBucket}`]) {
      await manager.streams.delete(stream).catch(() => false);
    }
  } finally {
    await connection.close();
  }
}
