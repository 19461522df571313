// The ledger role: projects engine events into SQL and serves history reads from it.
export { startLedgerProjection, ledgerLimits, ledgerConsumerName, type LedgerProjection, type LedgerProjectionDeps } from './projection.ts';
export { SqlHistoryReads, historyRowsMax } from './history.ts';
export { solvencyFromSql, type SolvencyRow } from './solvency.ts';
