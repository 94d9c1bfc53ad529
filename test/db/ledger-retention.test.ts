import { sql } from 'kysely'
import { beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import { runJob } from '../../src/engine/runner.js'
import { pruneLedger } from '../../src/engine/ledger/retention.js'
import { applyRetention } from '../../src/storage/retention.js'
import { errorLines, etl } from '../helpers/cli.js'
import { useTestDatabases, type TestWarehouse } from '../helpers/db.js'
import { customJob, runEnvFor, writerJob, createFixtureTable } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database

useTestDatabases((t) => ({ tw, db } = t))

const NOW = new Date('2026-06-30T12:00:00Z')

beforeEach(async () => {
  await db.exec('truncate etl_job_runs; delete from etl_retention_policies')
})

/** Ledger rows: [job, target (or null), status, started_at]. */
async function ledger(rows: Array<[string, string | null, string, string]>): Promise<void> {
  for (const [job, target, status, at] of rows) {
    await sql`insert into etl_job_runs (job_name, run_date, target_date, status, started_at, completed_at)
      values (${job}, ${at}::timestamptz::date, ${target}::date, ${status}, ${at}::timestamptz, ${at}::timestamptz)`.execute(db.db)
  }
}

async function left(): Promise<string[]> {
  const { rows } = await sql<{ r: string }>`
    select job_name || ' ' || coalesce(target_date::text, '-') || ' ' || status || ' ' || to_char(started_at at time zone 'UTC', 'YYYY-MM-DD') as r
    from etl_job_runs order by job_name, target_date nulls first, started_at`.execute(db.db)
  return rows.map((x) => x.r)
}

describe('the ledger keeps itself: retention of etl_job_runs', () => {
  it('removes old rows, never the latest SUCCESS of a pair nor anything of a pair whose latest attempt failed', async () => {
    await ledger([
      // a job without a partition, every minute: its old rows go, its latest SUCCESS (recent) stays
      ['minutely', null, 'SUCCESS', '2025-10-01T10:00Z'],
      ['minutely', null, 'SUCCESS', '2025-11-01T10:00Z'],
      ['minutely', null, 'SKIPPED', '2025-11-02T10:00Z'],
      ['minutely', null, 'SUCCESS', '2026-06-29T10:00Z'],
      // an old partition: its failed attempt before the success goes, the success stays (it is skipped on)
      ['daily', '2025-09-01', 'FAILED', '2025-09-02T02:00Z'],
      ['daily', '2025-09-01', 'SUCCESS', '2025-09-02T03:00Z'],
      ['daily', '2025-09-01', 'SKIPPED', '2025-09-03T02:00Z'],
      // an old partition whose latest attempt failed: everything stays, for etl retry and etl check
      ['daily', '2025-09-02', 'SUCCESS', '2025-09-03T02:00Z'],
      ['daily', '2025-09-02', 'FAILED', '2025-09-04T02:00Z'],
      // one that never succeeded
      ['daily', '2025-09-03', 'PARTIAL', '2025-09-04T02:00Z'],
      // a job without a partition whose latest attempt failed
      ['hourly', null, 'SUCCESS', '2025-10-01T10:00Z'],
      ['hourly', null, 'FAILED', '2025-10-01T11:00Z'],
      // only lock-held skips, long ago: nothing needs them
      ['held', '2025-09-01', 'SKIPPED', '2025-09-01T02:00Z'],
    ])
    // 2026-06-30 − 6 months = 2025-12-30
    expect(await pruneLedger(db.db, { now: NOW, retention: '6 months' })).toBe(6)
    expect(await left()).toEqual([
      'daily 2025-09-01 SUCCESS 2025-09-02',
      'daily 2025-09-02 SUCCESS 2025-09-03',
      'daily 2025-09-02 FAILED 2025-09-04',
      'daily 2025-09-03 PARTIAL 2025-09-04',
      'hourly - SUCCESS 2025-10-01',
      'hourly - FAILED 2025-10-01',
      'minutely - SUCCESS 2026-06-29',
    ])
    expect(await pruneLedger(db.db, { now: NOW, retention: '6 months' })).toBe(0)
  })

  it('runs in the daily retention job, whose rows_deleted counts the ledger rows too; a finished old partition is still skipped', async () => {
    await createFixtureTable(db)
    const writer = writerJob('ledger_writer')
    const old = runEnvFor(db, tw.config, () => new Date('2025-09-02T03:00:00Z'))
    expect((await runJob(old, { job: writer, date: '2025-09-01' })).status).toBe('SUCCESS')
    expect((await runJob(old, { job: writer, date: '2025-09-01' })).status).toBe('SKIPPED')
    const env = runEnvFor(db, tw.config, () => NOW)
    const outcome = await runJob(env, { job: customJob('retention', applyRetention, { partition: 'none' }) })
    expect(outcome.status, outcome.message).toBe('SUCCESS')
    expect(outcome.result).toMatchObject({ rowsProcessed: 0, rowsDeleted: 1 })
    expect((await runJob(env, { job: writer, date: '2025-09-01' })).status).toBe('SKIPPED')
  })

  it('keeps everything with ETL_LEDGER_RETENTION=off, and honours another interval', async () => {
    await ledger([
      ['minutely', null, 'SUCCESS', '2026-05-01T10:00Z'],
      ['minutely', null, 'SUCCESS', '2026-06-29T10:00Z'],
    ])
    const job = customJob('retention', applyRetention, { partition: 'none' })
    const off = loadConfig({ ...tw.env, ETL_LEDGER_RETENTION: 'off' })
    expect(off.ledgerRetention).toBeNull()
    expect((await runJob(runEnvFor(db, off, () => NOW), { job })).result).toMatchObject({ rowsDeleted: 0 })
    const short = loadConfig({ ...tw.env, ETL_LEDGER_RETENTION: '30 days' })
    expect((await runJob(runEnvFor(db, short, () => NOW), { job })).result).toMatchObject({ rowsDeleted: 1 })
    expect(loadConfig({ ...tw.env }).ledgerRetention).toBe('6 months')
  })

  it('keeps the indexes the hot queries use on a large ledger (EXPLAIN)', async () => {
    // 40,000 rows: a year of a minutely job and a few hundred partitions of daily ones
    await sql`insert into etl_job_runs (job_name, run_date, target_date, status, started_at)
      select case when g % 10 = 0 then 'daily_' || (g % 7) else 'minutely' end, '2026-01-01'::date + (g / 200),
             case when g % 10 = 0 then '2025-01-01'::date + (g / 70) end,
             case when g % 97 = 0 then 'FAILED' else 'SUCCESS' end, '2026-01-01'::timestamptz + g * interval '5 minutes'
      from generate_series(1, 40000) g`.execute(db.db)
    await db.exec('analyze etl_job_runs')
    const plan = async (query: string) => (await sql<{ 'QUERY PLAN': string }>`${sql.raw(`explain ${query}`)}`.execute(db.db)).rows.map((r) => r['QUERY PLAN']).join('\n')
    // the skip check (findSuccess) and etl status
    expect(await plan(`select id from etl_job_runs where job_name = 'daily_3' and target_date = '2025-03-01' and status = 'SUCCESS' order by started_at desc limit 1`)).toMatch(/etl_job_runs_job_target/)
    expect(await plan(`select * from etl_job_runs order by started_at desc limit 20`)).toMatch(/etl_job_runs_started/)
    // etl check's latest attempt of a job without partition: either index, newest first, never a scan of all
    expect(await plan(`select * from etl_job_runs where job_name = 'minutely' and target_date is null and status <> 'SKIPPED' order by started_at desc limit 1`)).toMatch(/Index Scan using etl_job_runs_(job_target|started)/)
    expect(await pruneLedger(db.db, { now: new Date('2026-04-01T00:00:00Z'), retention: '6 months' })).toBe(0)
  })

  it('exits 3 on a bad ETL_LEDGER_RETENTION, naming it, as for every configuration variable', async () => {
    for (const bad of ['6', 'six months', '6 fortnights', '-1 days']) {
      const result = await etl(['status'], { ...tw.env, ETL_LEDGER_RETENTION: bad })
      expect(result.code, bad).toBe(3)
      expect(errorLines(result.stderr)).toEqual([expect.stringMatching(/ETL_LEDGER_RETENTION must be an interval such as '6 months'/)])
    }
  })
})
