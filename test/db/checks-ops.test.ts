import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { anyBlocking, retest } from '../../src/engine/checks/retest.js'
import { validateJob } from '../../src/engine/registry.js'
import { runJob } from '../../src/engine/runner.js'
import { runChecks as alertsOf } from '../../src/ops/check.js'
import { prometheusMetrics } from '../../src/ops/metrics.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { ledgerRows, runEnvFor } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database
let src: Database

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  src = await tw.openSource()
  await src.exec(`create table ev_source (id int, learner_id int, status text, duration_seconds int, at timestamptz not null);
    create table people (id int primary key, name text, updated_at timestamptz not null);`)
  await db.exec('create table fx_events (date_key int not null, id int, learner_key int, status text, duration_seconds int)')
})

afterAll(async () => {
  await src?.close()
  await db?.close()
  await tw?.drop()
})

beforeEach(async () => {
  await src.exec(`truncate ev_source; truncate people;
    insert into ev_source values (1, 10, 'graded', 60, '2025-01-15T09:00:00Z'), (2, 11, 'submitted', 120, '2025-01-15T10:00:00Z');
    insert into people values (1, 'Ada', '2025-01-15T20:00:00Z'), (2, 'Bo', '2025-01-15T21:00:00Z');`)
  await db.exec('truncate etl_job_runs; truncate etl_check_results; truncate fx_events; drop table if exists dim_people')
})

const NOW = new Date('2025-01-16T02:00:00Z')
const env = () => runEnvFor(db, tw.config, () => NOW, src)

const factJob = (checks: unknown[]) =>
  validateJob(
    {
      kind: 'fact',
      name: 'build_fx_events',
      source: { table: 'public.ev_source', timeColumn: 'at' },
      target: 'fx_events',
      select: 'select {{date_key}} as date_key, s.id, s.learner_id as learner_key, s.status, s.duration_seconds from {{staging}} s',
      checks,
    },
    'test/build_fx_events.ts',
  )

const dimensionJob = (checks: unknown[]) =>
  validateJob(
    { kind: 'dimension', name: 'sync_dim_people', source: { table: 'public.people' }, businessKey: ['id'], strategy: { type: 'timestamp', updatedAt: 'updated_at' }, target: 'dim_people', checks },
    'test/sync_dim_people.ts',
  )

async function snapshot() {
  const { rows } = await sql<{ facts: string | null; runs: number; results: number }>`
    select (select md5(string_agg(f::text, '|' order by id)) from fx_events f) as facts,
           (select count(*)::int from etl_job_runs) as runs, (select count(*)::int from etl_check_results) as results`.execute(db.db)
  return rows[0]
}

describe('etl test, etl check and /metrics', () => {
  it('etl test runs the checks of a finished partition again without writing anything', async () => {
    const job = factJob([{ type: 'not_null', columns: ['learner_key'] }, { type: 'accepted_values', column: 'status', values: ['graded', 'submitted'], severity: 'warn' }])
    expect((await runJob(env(), { job, date: '2025-01-15' })).status).toBe('SUCCESS')
    // a hand edit after the build
    await db.exec(`update fx_events set learner_key = null, status = 'lost' where id = 2`)
    const before = await snapshot()
    const outcomes = await retest({ db: db.db, config: tw.config, now: NOW }, [job], undefined)
    expect(outcomes).toMatchObject([
      {
        job: 'build_fx_events',
        target: '2025-01-15',
        results: [
          { name: 'not_null(learner_key)', status: 'fail', failingRows: 1 },
          { name: 'accepted_values(status)', status: 'warn', failingRows: 1, sample: ['lost'] },
        ],
      },
    ])
    expect(anyBlocking(outcomes)).toBe(true)
    expect(await snapshot()).toEqual(before)
    // a day that was never built is not checked
    const unbuilt = await retest({ db: db.db, config: tw.config, now: NOW }, [job], '2025-01-14')
    expect(unbuilt).toMatchObject([{ target: '2025-01-14', results: [], note: expect.stringContaining('not built yet') }])
    expect(await snapshot()).toEqual(before)
  })

  it('a warn-level check raises a check alert in etl check and shows in /metrics; a later pass resolves it', async () => {
    const job = factJob([{ type: 'expression', sql: 'duration_seconds < 100', severity: 'warn', name: 'short_sessions' }])
    expect((await runJob(env(), { job, date: '2025-01-15' })).status).toBe('SUCCESS')
    const alerts = await alertsOf(db.db, [job], { now: NOW, hours: 24, minRatio: 0.5, runs: 7 })
    expect(alerts.filter((a) => a.type === 'check')).toMatchObject([
      { type: 'check', job: 'build_fx_events', partition: '2025-01-15', message: expect.stringMatching(/^check 'short_sessions' warned: 1 failing row/) },
    ])
    const metrics = await prometheusMetrics(db.db)
    expect(metrics).toMatch(/^etl_check_passing\{job="build_fx_events",check="short_sessions",status="warn"\} 0$/m)
    expect(metrics).toMatch(/^etl_check_failing_rows\{job="build_fx_events",check="short_sessions"\} 1$/m)

    await src.exec('update ev_source set duration_seconds = 50')
    expect((await runJob(env(), { job, date: '2025-01-15', force: true })).status).toBe('SUCCESS')
    expect((await alertsOf(db.db, [job], { now: NOW, hours: 24, minRatio: 0.5, runs: 7 })).filter((a) => a.type === 'check')).toEqual([])
    expect(await prometheusMetrics(db.db)).toMatch(/^etl_check_passing\{job="build_fx_events",check="short_sessions",status="pass"\} 1$/m)
  })
})

describe('checks on a dimension', () => {
  it('look at the versions this run wrote, not the ones before', async () => {
    const job = dimensionJob([{ type: 'expression', sql: "name <> 'Bad'" }])
    expect((await runJob(env(), { job })).status).toBe('SUCCESS')
    // a row nobody rewrites stays as it is, even though it would fail now
    await db.exec(`update dim_people set name = 'Bad' where id = 1`)
    await src.exec(`update people set name = 'Bo 2', updated_at = '2025-01-16T01:00:00Z' where id = 2`)
    const second = await runJob(env(), { job })
    expect(second.status, second.message).toBe('SUCCESS')
    await src.exec(`update people set name = 'Bad', updated_at = '2025-01-16T01:30:00Z' where id = 2`)
    const third = await runJob(env(), { job })
    expect(third.status).toBe('FAILED')
    expect(third.message).toBe("check 'expression(name <> 'Bad')' failed: 1 failing row; e.g. 2")
    const { rows } = await sql<{ name: string }>`select name from dim_people where id = 2 and is_current`.execute(db.db)
    expect(rows).toEqual([{ name: 'Bo 2' }])
  })

  it('a stale source fails freshness before anything is written, or warns and goes on', async () => {
    const stale = dimensionJob([{ type: 'freshness', column: 'updated_at', maxAge: '2 hours' }])
    const failed = await runJob(env(), { job: stale })
    expect(failed.status).toBe('FAILED')
    expect(failed.message).toMatch(/^check 'freshness\(updated_at\)' failed: the newest updated_at is 2025-01-15 21:00:00.*, older than 2 hours$/)
    const { rows } = await sql<{ t: string | null }>`select to_regclass('dim_people')::text as t`.execute(db.db)
    expect(rows[0]!.t).toBeNull()
    expect((await ledgerRows(db)).at(-1)!.status).toBe('FAILED')

    const warned = await runJob(env(), { job: dimensionJob([{ type: 'freshness', column: 'updated_at', maxAge: '2 hours', severity: 'warn' }]) })
    expect(warned.status).toBe('SUCCESS')
    expect(warned.message).toContain('check freshness(updated_at) (failed: the newest updated_at')

    const fresh = await runJob(env(), { job: dimensionJob([{ type: 'freshness', column: 'updated_at', maxAge: '26 hours' }]) })
    expect(fresh.status).toBe('SUCCESS')
  })
})
