// What the table-sync scenarios share: a source and a warehouse database on the bench server,
// the runner around one sync job, timing from a checkpoint, and the raw binary `COPY … TO STDOUT |
// COPY … FROM STDIN` pipe they are measured against (the fastest way PostgreSQL moves rows).
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import { loadConfig } from '../src/config.js'
import type { Database } from '../src/db/database.js'
import { migrateUp } from '../src/db/migrate.js'
import { openPostgres } from '../src/db/postgres.js'
import type { JobResult } from '../src/engine/job.js'
import { validateJob } from '../src/engine/registry.js'
import { newInvocationId, runJob, type RunEnv } from '../src/engine/runner.js'
import { silentLogger } from '../src/log.js'
import { scratchDatabase, seconds } from './support.js'

export const NOW = new Date('2025-06-30T12:00:00Z')

export interface SyncBench {
  readonly src: Database
  readonly wh: Database
  /** Runs the job through the runner; anything but SUCCESS throws. */
  sync(parameters?: Record<string, unknown>): Promise<JobResult>
  /** Times `fn` from a checkpoint, so no step pays for the dirty pages of the step before. */
  settled<T>(fn: () => Promise<T>): Promise<{ s: number; value: T }>
  /** Seconds of a raw binary pipe of the source's `table` into the warehouse's `into`, made by `create` first and dropped after. */
  rawPipe(table: string, into: string, create: string): Promise<number>
  close(): Promise<void>
}

/** Scratch databases for one scenario; `setup` fills the source before the job is validated. */
export async function syncBench(label: string, setup: (src: Database) => Promise<void>, definition: Record<string, unknown>): Promise<SyncBench> {
  const source = await scratchDatabase(`${label}_src`)
  const target = await scratchDatabase(`${label}_wh`)
  const src = await openPostgres({ url: source.url, role: 'oltp' })
  const wh = await openPostgres({ url: target.url, role: 'warehouse' })
  const close = async () => {
    await src.close()
    await wh.close()
    await source.drop()
    await target.drop()
  }
  try {
    await migrateUp(wh, 'public')
    await setup(src)
  } catch (error) {
    // the scenario's own finally is not reached yet: a failed setup must not leave its databases
    await close()
    throw error
  }
  const config = loadConfig({ WAREHOUSE_DATABASE_URL: target.url, OLTP_DATABASE_URL: source.url, LOG_LEVEL: 'warn' })
  const env: RunEnv = { config, log: silentLogger, warehouse: wh, source: async () => src, invocationId: newInvocationId(), now: () => NOW }
  const job = validateJob({ kind: 'table-sync', ...definition }, `bench/${String(definition.name)}.ts`)
  const settled = async <T>(fn: () => Promise<T>) => {
    await wh.exec('checkpoint')
    return seconds(fn)
  }
  return {
    src,
    wh,
    async sync(parameters = {}) {
      const outcome = await runJob(env, { job, parameters })
      if (outcome.status !== 'SUCCESS') throw new Error(`sync ${outcome.status}: ${outcome.message}`)
      return outcome.result
    },
    settled,
    async rawPipe(table, into, create) {
      await wh.exec(`drop table if exists ${into}; ${create}`)
      const timed = await settled(async () => {
        const a = new pg.Client({ connectionString: source.url })
        const b = new pg.Client({ connectionString: target.url })
        await a.connect()
        await b.connect()
        try {
          await pipeline(a.query(copyTo(`copy (select * from ${table}) to stdout (format binary)`)), b.query(copyFrom(`copy ${into} from stdin (format binary)`)))
        } finally {
          await a.end()
          await b.end()
        }
      })
      await wh.exec(`drop table ${into}`)
      return timed.s
    },
    close,
  }
}
