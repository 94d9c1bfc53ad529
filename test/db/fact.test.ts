import fs from 'node:fs'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { sourceSchemaFile } from '../../src/demo/generate.js'
import { loadRegistry, type JobRegistry } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
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
  await db.exec(`truncate etl_job_runs; truncate fact_sessions;
    drop table if exists dim_tenant; drop table if exists dim_learner; drop table if exists dim_subject;`)
  await src.exec(`
    insert into tenants values (1, 'Acme', 'pro', true, '2025-01-01Z', '2025-01-01Z');
    insert into subjects values (100, 'math', 'Math', '2025-01-01Z');
    insert into learners values (10, 1, 'Ada', 3, true, '2025-01-01Z', '2025-01-10Z', null);`)
})

const env = (now: string, timezone = 'UTC') =>
  runEnvFor(db, loadConfig({ ...tw.env, ETL_TIMEZONE: timezone }), () => new Date(now), src)

async function syncDimensions(now: string) {
  const dims = ['sync_dim_tenant', 'sync_dim_learner', 'sync_dim_subject'].map((n) => registry.get(n))
  const outcomes = await runSequence(env(now), dims, undefined)
  expect(outcomes.map((o) => o.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS'])
}

let nextSession = 1
const session = (startedAt: string, recordedAt = startedAt) =>
  sql`insert into sessions values (${nextSession++}, 1, 10, 100, ${startedAt}::timestamptz, ${startedAt}::timestamptz + interval '20 minutes',
        1200, 5, 4, 5, ${recordedAt}::timestamptz, ${recordedAt}::timestamptz)`.execute(src.db)

const factSessions = () => registry.get('build_fact_sessions')

async function factRows(dateKey?: number) {
  const { rows } = await sql<{ session_id: number; date_key: number; learner_key: number | null; name: string | null }>`
    select f.session_id, f.date_key, f.learner_key, l.first_name as name
    from fact_sessions f left join dim_learner l on l.learner_key = f.learner_key
    where ${dateKey ?? null}::int is null or f.date_key = ${dateKey ?? null}::int
    order by f.session_id`.execute(db.db)
  return rows
}

async function checksum() {
  const { rows } = await sql<{ md5: string }>`
    select md5(string_agg(f::text, '|' order by date_key, session_id)) as md5 from fact_sessions f`.execute(db.db)
  return rows[0]!.md5
}

describe('fact builds', () => {
  it('keys each event to the dimension version valid at its time, even across a change inside the day', async () => {
    await syncDimensions('2025-01-15T00:30:00Z')
    await src.exec(`update learners set first_name = 'Ada L.', updated_at = '2025-01-15T12:00:00Z' where id = 10`)
    await syncDimensions('2025-01-15T13:00:00Z')
    await session('2025-01-15T09:00:00Z')
    await session('2025-01-15T15:00:00Z')
    const outcome = await runJob(env('2025-01-16T02:00:00Z'), { job: factSessions(), date: '2025-01-15' })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect((await factRows()).map((r) => [r.date_key, r.name])).toEqual([
      [20250115, 'Ada'],
      [20250115, 'Ada L.'],
    ])
  })

  it('gives an event older than the first dimension version that version rather than no key', async () => {
    await syncDimensions('2025-01-15T00:30:00Z') // Ada's first version starts 2025-01-10
    await session('2025-01-05T10:00:00Z')
    await runJob(env('2025-01-16T02:00:00Z'), { job: factSessions(), date: '2025-01-05' })
    expect((await factRows()).map((r) => r.name)).toEqual(['Ada'])
  })

  it('re-runs a day with --force to byte-identical content', async () => {
    await syncDimensions('2025-01-15T00:30:00Z')
    for (const h of ['08', '11', '17']) await session(`2025-01-15T${h}:00:00Z`)
    await runJob(env('2025-01-16T02:00:00Z'), { job: factSessions(), date: '2025-01-15' })
    const before = await checksum()
    const again = await runJob(env('2025-01-16T03:00:00Z'), { job: factSessions(), date: '2025-01-15', force: true })
    expect(again.result).toMatchObject({ rowsProcessed: 3, rowsInserted: 3, rowsDeleted: 3 })
    expect(await checksum()).toBe(before)
  })

  it('rebuilds one day without touching the others', async () => {
    await syncDimensions('2025-01-15T00:30:00Z')
    await session('2025-01-14T10:00:00Z')
    await session('2025-01-15T10:00:00Z')
    await runJob(env('2025-01-16T02:00:00Z'), { job: factSessions(), date: '2025-01-14' })
    await runJob(env('2025-01-16T02:00:00Z'), { job: factSessions(), date: '2025-01-15' })
    await src.exec(`delete from sessions where started_at >= '2025-01-15Z'`)
    await runJob(env('2025-01-16T03:00:00Z'), { job: factSessions(), date: '2025-01-15', force: true })
    expect((await factRows()).map((r) => r.date_key)).toEqual([20250114])
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'fact_sessions'::regclass order by 1`.execute(db.db)
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['fact_sessions_p20250114', 'fact_sessions_p20250115']))
  })

  it('picks up a late-arriving event through the lookback when the next day runs', async () => {
    await syncDimensions('2025-01-14T00:30:00Z')
    await session('2025-01-14T10:00:00Z')
    await runJob(env('2025-01-15T02:00:00Z'), { job: factSessions(), date: '2025-01-14' })
    // recorded the next morning, after the day was built
    await session('2025-01-14T22:00:00Z', '2025-01-15T06:00:00Z')
    await session('2025-01-15T10:00:00Z')
    const outcomes = await runSequence(env('2025-01-16T02:00:00Z'), [factSessions()], '2025-01-15')
    expect(outcomes.map((o) => `${o.target}:${o.status}`)).toEqual(['2025-01-14:SUCCESS', '2025-01-15:SUCCESS'])
    expect((await factRows(20250114)).length).toBe(2)
    // nothing new since: the next run leaves the earlier days alone
    const quiet = await runSequence(env('2025-01-17T02:00:00Z'), [factSessions()], '2025-01-16')
    expect(quiet.map((o) => o.target)).toEqual(['2025-01-16'])
  })

  it('takes the 25 hours of a DST day in America/New_York', async () => {
    await syncDimensions('2025-11-01T00:30:00Z')
    await session('2025-11-02T04:30:00Z') // 00:30 EDT, Nov 2
    await session('2025-11-03T04:30:00Z') // 23:30 EST, still Nov 2
    await session('2025-11-03T05:30:00Z') // 00:30 EST, Nov 3
    await runJob(env('2025-11-04T07:00:00Z', 'America/New_York'), { job: factSessions(), date: '2025-11-02' })
    expect((await factRows(20251102)).length).toBe(2)
  })
})

async function rollupSessions(day: string): Promise<number | undefined> {
  const { rows } = await sql<{ n: number }>`select sum(sessions)::int as n from daily_metrics where metric_date = ${day}::date`.execute(db.db)
  return rows[0]?.n ?? undefined
}

const pipeline = () => [registry.get('build_fact_sessions'), registry.get('aggregate_daily_metrics')]

describe('late-arriving rows reach the partitions depending on them', () => {
  beforeEach(async () => {
    await db.exec('truncate daily_metrics')
    await syncDimensions('2025-01-14T00:30:00Z')
  })

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

  it('reach them in a later command too: the rollup’s own cron entry rebuilds the day its facts were rebuilt for', async () => {
    await session('2025-01-14T10:00:00Z')
    await runSequence(env('2025-01-15T02:00:00Z'), pipeline(), '2025-01-14')
    await session('2025-01-14T22:00:00Z', '2025-01-15T06:00:00Z')
    const [facts, rollup] = pipeline()
    // 02:00: the facts' entry rebuilds the 14th; 02:30: the rollup's entry runs alone
    await runSequence(env('2025-01-16T02:00:00Z'), [facts!], '2025-01-15')
    const later = await runSequence(env('2025-01-16T02:30:00Z'), [rollup!], '2025-01-15')
    expect(later.map((o) => `${o.target}:${o.status}`)).toEqual(['2025-01-14:SUCCESS', '2025-01-15:SUCCESS'])
    expect(await rollupSessions('2025-01-14')).toBe(2)
    expect((await ledgerRows(db, 'aggregate_daily_metrics')).at(-2)!.parameters.reason).toBe('build_fact_sessions was rebuilt for a day of 2025-01-14 after its last build')
    // and only once: the next day leaves the 14th alone
    const next = await runSequence(env('2025-01-17T02:30:00Z'), [rollup!], '2025-01-16')
    expect(next.map((o) => o.target)).toEqual(['2025-01-16'])
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
