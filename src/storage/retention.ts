import { sql, type Kysely } from 'kysely'
import type { JobContext, JobResult } from '../engine/job.js'
import { LEDGER_TABLE, pruneLedger } from '../engine/ledger/index.js'
import { columnType, policyCutoff, type Dropped, type Expired } from './backend.js'
import { backendOf } from './partitions.js'
import { policyOf, readPolicies, type StoragePolicy } from './policy.js'

export type { Dropped }

/**
 * What one table's policy removes at `now`: its partitions or chunks whose every row is older
 * than `now − retention`. Nothing for a policy without one.
 */
export async function expiredOf(db: Kysely<any>, policy: StoragePolicy, now: Date): Promise<Expired> {
  if (!policy.retention) return { names: [], rows: 0 }
  const type = await columnType(db, policy.table, policy.timeColumn)
  return backendOf(policy.mode).expired(db, policy.table, policy.timeColumn, type, policyCutoff(policy.timeColumn, type, now, policy.retention))
}

/** Drops what one table's policy removes at `now`, in the caller's transaction. */
export async function dropExpired(db: Kysely<any>, policy: StoragePolicy, now: Date): Promise<Dropped> {
  if (!policy.retention) return { partitions: 0, rows: 0 }
  const type = await columnType(db, policy.table, policy.timeColumn)
  return backendOf(policy.mode).drop(db, policy.table, policy.timeColumn, type, policyCutoff(policy.timeColumn, type, now, policy.retention))
}

/** Drops a table's partitions older than `retention` by its policy's column and mode (the price loads' helper). */
export async function dropOlderThan(db: Kysely<any>, table: string, retention: string, now: Date): Promise<Dropped> {
  const policy = await policyOf(db, table)
  if (!policy) throw new Error(`${table} has no storage policy (etl_storage_policies)`)
  return dropExpired(db, { ...policy, retention }, now)
}

/**
 * The daily `retention` job (jobs/storage/retention.ts): for every table in etl_storage_policies
 * with a retention — table-sync targets, price bars, tenant series, facts if given one — drops
 * the partitions or chunks whose every row is older than `now − retention`: whole partitions,
 * never a DELETE. The drops commit with the job's SUCCESS row; `rowsProcessed` counts the
 * partitions, `rowsDeleted` the rows they held, so `etl status` shows what retention removed. A
 * table that fails is a failed unit (PARTIAL); the others still drop. Then the ledger's own old
 * rows (src/engine/ledger/retention.ts), counted in `rowsDeleted` too.
 */
export async function applyRetention(ctx: JobContext): Promise<JobResult> {
  await sql`set local timezone to 'UTC'`.execute(ctx.db)
  const policies = (await readPolicies(ctx.db)).filter((p) => p.retention !== null)
  let partitions = 0
  let rows = 0
  const failedUnits: Array<{ unit: string; error: string }> = []
  for (const policy of policies) {
    // one table failing (a lock timeout, say) must not undo the others: a savepoint per table
    await sql`savepoint retention_table`.execute(ctx.db)
    try {
      const dropped = await dropExpired(ctx.db, policy, ctx.now)
      partitions += dropped.partitions
      rows += dropped.rows
      if (dropped.partitions || dropped.rows) ctx.log.info({ table: policy.table, mode: policy.mode, ...dropped }, 'dropped partitions past retention')
      await sql`release savepoint retention_table`.execute(ctx.db)
    } catch (error) {
      await sql`rollback to savepoint retention_table`.execute(ctx.db)
      failedUnits.push({ unit: policy.table, error: (error as Error).message })
    }
  }
  let ledgerRows = 0
  if (ctx.config.ledgerRetention !== null) {
    await sql`savepoint retention_ledger`.execute(ctx.db)
    try {
      ledgerRows = await pruneLedger(ctx.db, { now: ctx.now, retention: ctx.config.ledgerRetention })
      await sql`release savepoint retention_ledger`.execute(ctx.db)
    } catch (error) {
      await sql`rollback to savepoint retention_ledger`.execute(ctx.db)
      failedUnits.push({ unit: LEDGER_TABLE, error: (error as Error).message })
    }
  }
  ctx.log.info({ tables: policies.length, partitions, rows, ledgerRows }, 'retention applied')
  return { rowsProcessed: partitions, rowsDeleted: rows + ledgerRows, failedUnits }
}
