import { sql } from 'kysely'
import type { JobContext, JobResult } from '../engine/job.js'
import { ident } from '../io/identifiers.js'
import { expiredPartitions } from './partitions.js'

interface Policy {
  table_name: string
  storage: 'native' | 'timescaledb'
  retention: string
}

/**
 * The daily retention job: for each time-partitioned sync target (etl_retention_policies, kept
 * by the syncs), drops the partitions whose every row is older than `now − retention` — whole
 * partitions, never a DELETE. On TimescaleDB the same cut goes through `drop_chunks`. The drops
 * commit with the job's SUCCESS row; `rowsDeleted` counts the rows they held, so `etl status`
 * shows what retention removed.
 */
export async function applyRetention(ctx: JobContext): Promise<JobResult> {
  await sql`set local timezone to 'UTC'`.execute(ctx.db)
  const { rows: policies } = await sql<Policy>`
    select p.table_name, p.storage, p.retention::text as retention from etl_retention_policies p
    where to_regclass(p.table_name) is not null order by p.table_name`.execute(ctx.db)
  let partitions = 0
  let rows = 0
  const failedUnits: Array<{ unit: string; error: string }> = []
  for (const policy of policies) {
    // one table failing (a lock timeout, say) must not undo the others: a savepoint per table
    await sql`savepoint retention_table`.execute(ctx.db)
    try {
      if (policy.storage === 'timescaledb') {
        const { rows: dropped } = await sql<{ chunk: string }>`
          select drop_chunks(${policy.table_name}::regclass, older_than => ${ctx.now}::timestamptz - ${policy.retention}::interval)::text as chunk`.execute(ctx.db)
        partitions += dropped.length
        if (dropped.length) ctx.log.info({ table: policy.table_name, chunks: dropped.length }, 'dropped chunks past retention')
      } else {
        for (const p of await expiredPartitions(ctx.db, policy.table_name, policy.retention, ctx.now)) {
          const { rows: counted } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(p.name)}`.execute(ctx.db)
          // dropping a partition detaches it from its table in the same statement
          await sql.raw(`drop table ${ident(p.name)}`).execute(ctx.db)
          partitions++
          rows += counted[0]!.n
          ctx.log.info({ table: policy.table_name, partition: p.name, before: p.upper, rows: counted[0]!.n }, 'dropped partition past retention')
        }
      }
      await sql`release savepoint retention_table`.execute(ctx.db)
    } catch (error) {
      await sql`rollback to savepoint retention_table`.execute(ctx.db)
      failedUnits.push({ unit: policy.table_name, error: (error as Error).message })
    }
  }
  ctx.log.info({ tables: policies.length, partitions, rows }, 'retention applied')
  return { rowsProcessed: partitions, rowsDeleted: rows, failedUnits }
}
