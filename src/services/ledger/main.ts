// Cluster mode: the ledger role as its own process, reading the JetStream event log (see
// src/cluster/consumer-roles.ts for the wiring). Environment: docs/cluster.md.
import { startLedgerRole } from '../../cluster/consumer-roles.ts';
import { runRole } from '../../cluster/role.ts';

await runRole('ledger', (context) => startLedgerRole(context));
