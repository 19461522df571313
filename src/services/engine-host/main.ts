// Cluster mode: the engine role as its own process (leader or hot standby; see
// src/cluster/engine-role.ts). Wires the EngineHost to the JetStream command and event
// logs and the NATS KV lease. Environment: docs/cluster.md.
import { loadConfig } from '../../config.ts';
import { startEngineRole } from '../../cluster/engine-role.ts';
import { runRole } from '../../cluster/role.ts';

await runRole('engine', (context) => startEngineRole(context, { commandTimeoutMs: loadConfig().commandTimeoutMs }));
