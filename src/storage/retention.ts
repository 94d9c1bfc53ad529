import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { JobContext, JobResult } from '../engine/job.js'
import { LEDGER_TABLE, pruneLedger } from '../engine/ledger/index.js'
import { eachUnit } from '../engine/units.js'
import { columnType, countRows, cutoffOf, expiredPartitions } from './partitions.js'

interface Policy {
  table_name: string
  time_column: string
  storage: 'native' | 'timescaledb'
  retention: string
}

export interface Dropped {
  /** Partitions or chunks dropped. */
  readonly partitions: number
  /** The rows they held, counted in the same transaction just before the drop. */
  readonly rows: number
}

/**
 * The daily retention job: for each time-partitioned sync target (etl_retention_policies, kept
 * by the syncs), drops the partitions whose every row is older than `now − retention` — whole
 * partitions, never a DELETE. On TimescaleDB the same cut goes through `drop_chunks`. The drops
 * commit with the job's SUCCESS row; `rowsDeleted` counts the rows they held, so `etl status`
 * shows what retention removed. Then the ledger's own old rows (src/engine/ledger/retention.ts),
 * counted in `rowsDeleted` too.
 */
export async function applyRetention(ctx: JobContext): Promise<JobResult> {
  await sql`set local timezone to 'UTC'`.execute(ctx.db)
  const { rows: policies } = await sql<Policy>`
    select p.table_name, p.time_column, p.storage, p.retention::text as retention from etl_retention_policies p
    where to_regclass(p.table_name) is not null order by p.table_name`.execute(ctx.db)
  let partitions = 0
  let rows = 0
  // one table failing (a lock timeout, say) must not undo the others: a unit each
  const failedUnits = await eachUnit(
    ctx.db,
    policies,
    async (policy) => {
      const type = await columnType(ctx.db, policy.table_name, policy.time_column)
      const cutoff = cutoffOf(type, ctx.now, policy.retention)
      const dropped =
        policy.storage === 'timescaledb'
          ? await dropChunks(ctx.db, policy.table_name, cutoff)
          : await dropPartitions(ctx.db, policy.table_name, type, cutoff)
      partitions += dropped.partitions
      rows += dropped.rows
      if (dropped.partitions) ctx.log.info({ table: policy.table_name, storage: policy.storage, ...dropped }, 'dropped partitions past retention')
    },
    { name: (policy) => policy.table_name },
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

/** Native partitions past the cut-off: counted, then dropped in one statement (which detaches them too). */
async function dropPartitions(db: Kysely<any>, table: string, type: string, cutoff: RawBuilder<unknown>): Promise<Dropped> {
  const names = (await expiredPartitions(db, table, type, cutoff)).map((p) => p.name)
  if (names.length === 0) return { partitions: 0, rows: 0 }
  const counted = await countRows(db, names)
  await sql.raw(`drop table ${names.join(', ')}`).execute(db)
  return { partitions: names.length, rows: counted }
}

/**
 * A hypertable's chunks past the cut-off: `show_chunks` lists exactly what `drop_chunks` with the
 * same `older_than` drops (chunks whose range ends at or before it), so their rows are counted
 * first; drop_chunks itself returns only the chunks' names.
 */
async function dropChunks(db: Kysely<any>, table: string, cutoff: RawBuilder<unknown>): Promise<Dropped> {
  const { rows: chunks } = await sql<{ chunk: string }>`
    select c::text as chunk from show_chunks(${table}::regclass, older_than => ${cutoff}) c`.execute(db)
  if (chunks.length === 0) return { partitions: 0, rows: 0 }
  const counted = await countRows(db, chunks.map((c) => c.chunk))
  const { rows: dropped } = await sql<{ chunk: string }>`
    select c::text as chunk from drop_chunks(${table}::regclass, older_than => ${cutoff}) c`.execute(db)
  return { partitions: dropped.length, rows: counted }
}
