import { sql, type Kysely } from 'kysely'
import type { JobContext, JobResult } from '../engine/job.js'
import { LEDGER_TABLE, pruneLedger } from '../engine/ledger/index.js'
import { columnType, policyCutoff, type Dropped, type Expired } from './backend.js'
import { backendOf } from './partitions.js'
import { policyOf, readPolicies, type StoragePolicy } from './policy.js'
import { eachUnit } from '../engine/units.js'

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
  // one table failing (a lock timeout, say) must not undo the others: a unit each
  const failedUnits = await eachUnit(
    ctx.db,
    policies,
    async (policy) => {
      const dropped = await dropExpired(ctx.db, policy, ctx.now)
      partitions += dropped.partitions
      rows += dropped.rows
      if (dropped.partitions || dropped.rows) ctx.log.info({ table: policy.table, mode: policy.mode, ...dropped }, 'dropped partitions past retention')
    },
    { name: (policy) => policy.table },
  )
  let ledgerRows = 0
  const retention = ctx.config.ledgerRetention
  if (retention !== null) {
    const ledger = await eachUnit(ctx.db, [LEDGER_TABLE], async () => {
      ledgerRows = await pruneLedger(ctx.db, { now: ctx.now, retention })
    })
    failedUnits.push(...ledger)
  }
  ctx.log.info({ tables: policies.length, partitions, rows, ledgerRows }, 'retention applied')
  return { rowsProcessed: partitions, rowsDeleted: rows + ledgerRows, failedUnits }
}
