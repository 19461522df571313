// Cluster mode: one gateway process (run any number behind nginx; see
// src/cluster/gateway-role.ts for the wiring). Environment: docs/cluster.md.
import { startGatewayRole } from '../../cluster/gateway-role.ts';
import { runRole } from '../../cluster/role.ts';

await runRole('gateway', (context) => startGatewayRole(context));
