// Cluster mode: the notifier role as its own process, reading the JetStream event log (see
// src/cluster/consumer-roles.ts for the wiring). Environment: docs/cluster.md.
import { startNotifierRole } from '../../cluster/consumer-roles.ts';
import { runRole } from '../../cluster/role.ts';

await runRole('notifier', (context) => startNotifierRole(context));
