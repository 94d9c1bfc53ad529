import fs from 'node:fs'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { sourceSchemaFile } from '../../src/demo/generate.js'
import { loadRegistry, type JobRegistry } from '../../src/engine/registry.js'
import { runSequence } from '../../src/engine/sequence.js'
import { builtinJobsDir } from '../../src/paths.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { ledgerRows, runEnvFor } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database
let src: Database
let registry: JobRegistry

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  src = await tw.openSource()
  registry = await loadRegistry([builtinJobsDir])
  await src.exec(fs.readFileSync(sourceSchemaFile, 'utf8'))
})

afterAll(async () => {
  await src?.close()
  await db?.close()
  await tw?.drop()
})

beforeEach(async () => {
  await src.exec('truncate tenants, learners, subjects, sessions cascade')
  await db.exec(`truncate etl_job_runs; truncate fact_sessions; truncate daily_metrics;
    drop table if exists dim_tenant; drop table if exists dim_learner; drop table if exists dim_subject;`)
  await src.exec(`
    insert into tenants values (1, 'Acme', 'pro', true, '2025-01-01Z', '2025-01-01Z');
    insert into subjects values (100, 'math', 'Math', '2025-01-01Z');
    insert into learners values (10, 1, 'Ada', 3, true, '2025-01-01Z', '2025-01-10Z', null);`)
  const dims = ['sync_dim_tenant', 'sync_dim_learner', 'sync_dim_subject'].map((n) => registry.get(n))
  await runSequence(env('2025-01-14T00:30:00Z'), dims, undefined)
})

const env = (now: string) => runEnvFor(db, loadConfig({ ...tw.env }), () => new Date(now), src)

let nextSession = 1
const session = (startedAt: string, recordedAt = startedAt) =>
  sql`insert into sessions values (${nextSession++}, 1, 10, 100, ${startedAt}::timestamptz, ${startedAt}::timestamptz + interval '20 minutes',
        1200, 5, 4, 5, ${recordedAt}::timestamptz, ${recordedAt}::timestamptz)`.execute(src.db)

async function rollupSessions(day: string): Promise<number | undefined> {
  const { rows } = await sql<{ n: number }>`select sum(sessions)::int as n from daily_metrics where metric_date = ${day}::date`.execute(db.db)
  return rows[0]?.n ?? undefined
}

const pipeline = () => [registry.get('build_fact_sessions'), registry.get('aggregate_daily_metrics')]

describe('late-arriving rows', () => {
  it('rebuild the day’s facts and then every partition of that day depending on them, in one command', async () => {
    await session('2025-01-14T10:00:00Z')
    await runSequence(env('2025-01-15T02:00:00Z'), pipeline(), '2025-01-14')
    expect(await rollupSessions('2025-01-14')).toBe(1)
    // recorded the next morning, after the 14th was built
    await session('2025-01-14T22:00:00Z', '2025-01-15T06:00:00Z')
    await session('2025-01-15T10:00:00Z')

    const outcomes = await runSequence(env('2025-01-16T02:00:00Z'), pipeline(), '2025-01-15')
    expect(outcomes.map((o) => `${o.job}@${o.target}:${o.status}`)).toEqual([
      'build_fact_sessions@2025-01-14:SUCCESS',
      'build_fact_sessions@2025-01-15:SUCCESS',
      'aggregate_daily_metrics@2025-01-14:SUCCESS',
      'aggregate_daily_metrics@2025-01-15:SUCCESS',
    ])
    // the facts and the rollup of the 14th agree again
    expect(await rollupSessions('2025-01-14')).toBe(2)
    const redo = (await ledgerRows(db, 'aggregate_daily_metrics')).at(-2)!
    expect(redo.target_date).toBe('2025-01-14')
    expect(redo.parameters.reason).toMatch(/build_fact_sessions was rebuilt for 2025-01-14/)
  })

  it('--dry-run lists each rebuild with its reason and records nothing', async () => {
    await session('2025-01-14T10:00:00Z')
    await runSequence(env('2025-01-15T02:00:00Z'), pipeline(), '2025-01-14')
    await session('2025-01-14T22:00:00Z', '2025-01-15T06:00:00Z')
    const before = (await ledgerRows(db)).length

    const outcomes = await runSequence(env('2025-01-16T02:00:00Z'), pipeline(), '2025-01-15', { dryRun: true })
    expect(outcomes.map((o) => `${o.job}@${o.target}:${o.status}:${o.message}`)).toEqual([
      'build_fact_sessions@2025-01-14:WOULD_RUN:rebuild: late-arriving rows since its last build',
      'build_fact_sessions@2025-01-15:WOULD_RUN:not done yet',
      'aggregate_daily_metrics@2025-01-14:WOULD_RUN:rebuild: build_fact_sessions was rebuilt for 2025-01-14 (late-arriving rows since its last build)',
      'aggregate_daily_metrics@2025-01-15:WOULD_RUN:not done yet',
    ])
    expect((await ledgerRows(db)).length).toBe(before)
    expect(await rollupSessions('2025-01-14')).toBe(1)
  })

  it('a dependent of a rebuild that failed is recorded FAILED for that day, so retry redoes it', async () => {
    await session('2025-01-14T10:00:00Z')
    await runSequence(env('2025-01-15T02:00:00Z'), pipeline(), '2025-01-14')
    await session('2025-01-14T22:00:00Z', '2025-01-15T06:00:00Z')
    // the facts' rebuild of the 14th fails: its partition cannot be written
    await db.exec(`alter table fact_sessions add constraint fx_no_late check (session_id < ${nextSession - 1}) not valid`)
    try {
      const outcomes = await runSequence(env('2025-01-16T02:00:00Z'), pipeline(), '2025-01-15')
      const byPair = Object.fromEntries(outcomes.map((o) => [`${o.job}@${o.target}`, o.status]))
      expect(byPair['build_fact_sessions@2025-01-14']).toBe('FAILED')
      expect(byPair['aggregate_daily_metrics@2025-01-14']).toBe('FAILED')
      const blocked = (await ledgerRows(db, 'aggregate_daily_metrics')).find((r) => r.target_date === '2025-01-14' && r.status === 'FAILED')!
      expect(blocked.error_message).toBe('not run: upstream job build_fact_sessions failed')
      expect(blocked.parameters.force).toBe(true)
    } finally {
      await db.exec('alter table fact_sessions drop constraint fx_no_late')
    }
  })

  it('leaves the rollup alone when nothing arrived late', async () => {
    await session('2025-01-14T10:00:00Z')
    await runSequence(env('2025-01-15T02:00:00Z'), pipeline(), '2025-01-14')
    const outcomes = await runSequence(env('2025-01-16T02:00:00Z'), pipeline(), '2025-01-15')
    expect(outcomes.map((o) => o.target)).toEqual(['2025-01-15', '2025-01-15'])
  })
})
