import { sql } from 'kysely'
import type { Config } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import type { JobContext, JobResult, RegisteredJob } from '../../src/engine/job.js'
import type { CustomJobDefinition } from '../../src/kinds/custom/index.js'
import type { LedgerRow } from '../../src/engine/ledger/index.js'
import { validateJob } from '../../src/engine/registry.js'
import { newInvocationId, type RunEnv } from '../../src/engine/runner.js'
import { silentLogger } from '../../src/log.js'

/** The environment the CLI would build, around a test's own warehouse. */
export function runEnvFor(warehouse: Database, config: Config, now: () => Date = () => new Date(), source: Database = warehouse): RunEnv {
  return {
    config,
    log: silentLogger,
    warehouse,
    source: async () => source,
    invocationId: newInvocationId(),
    now,
  }
}

/** An inline custom job, validated as a job file would be. */
export function customJob(
  name: string,
  run: (ctx: JobContext) => Promise<JobResult | void>,
  extra: Partial<Omit<CustomJobDefinition, 'run' | 'kind'>> = {},
): RegisteredJob {
  return validateJob({ kind: 'custom', name, ...extra, run }, `test/${name}.ts`)
}

export async function ledgerRows(db: Database, jobName?: string): Promise<LedgerRow[]> {
  let q = db.db.selectFrom('etl_job_runs').selectAll()
  if (jobName) q = q.where('job_name', '=', jobName)
  return (await q.orderBy('started_at').orderBy('completed_at').execute()) as LedgerRow[]
}

/** A job that writes `rows` rows for its partition into fx_target, replacing the partition. */
export function writerJob(name: string, rows = 3, extra: Parameters<typeof customJob>[2] = {}): RegisteredJob {
  return customJob(
    name,
    async (ctx) => {
      const deleted = await sql`delete from fx_target where job = ${name} and target is not distinct from ${ctx.target}::date`.execute(ctx.db)
      await sql`insert into fx_target (job, target, i) select ${name}, ${ctx.target}::date, g from generate_series(1, ${rows}::int) g`.execute(ctx.db)
      return { rowsProcessed: rows, rowsInserted: rows, rowsDeleted: Number(deleted.numAffectedRows ?? 0) }
    },
    extra,
  )
}

export async function createFixtureTable(db: Database): Promise<void> {
  await db.exec('create table if not exists fx_target (job text not null, target date, i int not null)')
}

export async function countRows(db: Database, job: string, target: string | null): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from fx_target where job = ${job} and target is not distinct from ${target}::date`.execute(db.db)
  return rows[0]!.n
}
