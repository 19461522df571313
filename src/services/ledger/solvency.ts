// The conservation check, computed from SQL: per asset, the sum of every account's
// available + held balance must equal completed deposits minus completed withdrawals
// (pending withdrawals are still held). Compare it with the engine's AssetView.supplyAtoms
// to check that the projection and the engine agree.

import type { SqlExecutor } from '../../ports/sql.ts';
import { sqlBigInt, sqlInteger } from '../../adapters/sql/convert.ts';

export interface SolvencyRow {
  assetId: number;
  asset: string;
  /** Sum over accounts of available + held, in atoms (BigInt: sums may pass 2^53 in SQL). */
  balancesAtoms: bigint;
  depositsAtoms: bigint;
  withdrawalsAtoms: bigint;
  /** depositsAtoms - withdrawalsAtoms. */
  supplyAtoms: bigint;
  balanced: boolean;
}

export async function solvencyFromSql(db: SqlExecutor): Promise<SolvencyRow[]> {
  const result = await db.query<Record<string, unknown>>(`
    SELECT a.asset_id, a.code,
      COALESCE((SELECT SUM(b.available_atoms + b.held_atoms) FROM balances b WHERE b.asset_id = a.asset_id), 0) AS balances,
      COALESCE((SELECT SUM(t.amount_atoms) FROM transfers t WHERE t.asset_id = a.asset_id AND t.kind = 'DEPOSIT' AND t.status = 'COMPLETED'), 0) AS deposits,
      COALESCE((SELECT SUM(t.amount_atoms) FROM transfers t WHERE t.asset_id = a.asset_id AND t.kind = 'WITHDRAWAL' AND t.status = 'COMPLETED'), 0) AS withdrawals
    FROM assets a ORDER BY a.asset_id`);
  return result.rows.map((row) => {
    const balancesAtoms = sqlBigInt(row.balances);
    const depositsAtoms = sqlBigInt(row.deposits);
    const withdrawalsAtoms = sqlBigInt(row.withdrawals);
    const supplyAtoms = depositsAtoms - withdrawalsAtoms;
    return {
      assetId: sqlInteger(row.asset_id),
      asset: String(row.code),
      balancesAtoms,
      depositsAtoms,
      withdrawalsAtoms,
      supplyAtoms,
      balanced: balancesAtoms === supplyAtoms,
    };
  });
}
