import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import type { RunStatus } from '../../src/db/schema.js'
import type { RegisteredJob } from '../../src/engine/job.js'
import { validateJob } from '../../src/engine/registry.js'
import { duePartition, median, runChecks } from '../../src/ops/check.js'
import { dailySuccessRate } from '../../src/engine/ledger/success-rate.js'
import { addDays } from '../../src/time/calendar.js'
import { errorLines, etl } from '../helpers/cli.js'
import { useSubprocessWarehouse, type TestWarehouse } from '../helpers/db.js'

let tw: TestWarehouse
const withWarehouse = useSubprocessWarehouse((t) => (tw = t))

interface Row {
  job: string
  target?: string | null
  status: RunStatus
  at: string | Date
  rows?: number
  error?: string
}

async function insert(db: Database, ...rows: Row[]): Promise<void> {
  for (const r of rows) {
    const at = new Date(r.at)
    await sql`insert into etl_job_runs (job_name, run_date, target_date, status, rows_processed, started_at, completed_at, duration_ms, error_message)
      values (${r.job}, ${at.toISOString().slice(0, 10)}::date, ${r.target ?? null}::date, ${r.status}, ${r.rows ?? 0}, ${at}, ${at}, 10, ${r.error ?? null})`.execute(db.db)
  }
}

const clear = (db: Database) => sql`delete from etl_job_runs`.execute(db.db)

const job = (name: string, extra: Record<string, unknown> = {}): RegisteredJob =>
  validateJob({ kind: 'custom', name, partition: 'day', async run() {}, ...extra }, `test/${name}.mjs`)

const NOW = new Date('2025-01-15T07:00:00Z')
const thresholds = { now: NOW, hours: 24, minRatio: 0.5, runs: 7 }

describe('etl check, in process', () => {
  let db: Database
  beforeAll(async () => {
    db = await tw.open()
  })
  afterAll(async () => {
    await db?.close()
  })
  beforeEach(async () => {
    await clear(db)
  })

  it('alerts a FAILED or PARTIAL run of the last N hours once per partition, until a later SUCCESS resolves it', async () => {
    await insert(
      db,
      { job: 'a', target: '2025-01-14', status: 'FAILED', at: '2025-01-15T02:00:00Z', error: 'boom' },
      { job: 'a', target: '2025-01-14', status: 'FAILED', at: '2025-01-15T03:00:00Z', error: 'boom again' },
      { job: 'b', target: '2025-01-14', status: 'PARTIAL', at: '2025-01-15T02:00:00Z', error: 'failed: AAPL (timeout)' },
      { job: 'c', target: '2025-01-14', status: 'FAILED', at: '2025-01-15T02:00:00Z' },
      { job: 'c', target: '2025-01-14', status: 'SUCCESS', at: '2025-01-15T04:00:00Z' },
      { job: 'd', target: '2025-01-13', status: 'FAILED', at: '2025-01-14T06:00:00Z' }, // 25 hours ago
    )
    const alerts = await runChecks(db.db, [], thresholds)
    expect(alerts.map((a) => [a.type, a.job, a.partition])).toEqual([
      ['failed', 'a', '2025-01-14'],
      ['failed', 'b', '2025-01-14'],
    ])
    expect(alerts[0]!.details).toMatchObject({ status: 'FAILED', attempts: 2, error: 'boom again' })
    expect(alerts[0]!.message).toMatch(/FAILED at 2025-01-15T03:00:00Z \(2 failed attempts in 24h\).*boom again/)
    expect((await runChecks(db.db, [], { ...thresholds, hours: 48 })).map((a) => a.job)).toEqual(['a', 'b', 'd'])
  })

  it('alerts a partition not SUCCESS past its deadline, in the job’s zone', async () => {
    const jobs = [job('due_utc', { deadline: '06:00' }), job('due_ny', { deadline: '06:00', timezone: 'America/New_York' }), job('no_deadline')]
    // 07:00 UTC: 2025-01-14 is due for due_utc; in New York it is 02:00, so 2025-01-13 is the newest one due
    await insert(db, { job: 'due_utc', target: '2025-01-14', status: 'FAILED', at: '2025-01-15T02:00:00Z', error: 'x' })
    const late = (await runChecks(db.db, jobs, { ...thresholds, hours: 1 })).filter((a) => a.type === 'late')
    expect(late.map((a) => [a.job, a.partition])).toEqual([
      ['due_utc', '2025-01-14'],
      ['due_ny', '2025-01-13'],
    ])
    expect(late[0]!.message).toMatch(/partition 2025-01-14 is not SUCCESS past its deadline 06:00 UTC \(due 2025-01-15T06:00:00Z\); latest attempt: FAILED/)
    expect(late[1]!.message).toMatch(/never attempted/)

    await insert(db, { job: 'due_utc', target: '2025-01-14', status: 'SUCCESS', at: '2025-01-15T06:30:00Z' }, { job: 'due_ny', target: '2025-01-13', status: 'SUCCESS', at: '2025-01-14T08:00:00Z' })
    expect((await runChecks(db.db, jobs, { ...thresholds, hours: 1 })).filter((a) => a.type === 'late')).toEqual([])
  })

  it('finds the newest partition due: day D at the deadline on D+1, a week on the next Monday, no partition once a day', () => {
    const at = (iso: string) => new Date(iso)
    expect(duePartition(job('d'), '06:00', at('2025-01-15T05:59:00Z')).target).toBe('2025-01-13')
    expect(duePartition(job('d'), '06:00', at('2025-01-15T06:00:00Z'))).toEqual({ target: '2025-01-14', dueAt: at('2025-01-15T06:00:00Z') })
    // New York is UTC-5 in January
    expect(duePartition(job('d', { timezone: 'America/New_York' }), '06:00', at('2025-01-15T11:00:00Z'))).toEqual({ target: '2025-01-14', dueAt: at('2025-01-15T11:00:00Z') })
    // Wednesday 2025-01-15: the week of Monday 01-06 was due on Monday 01-13
    expect(duePartition(job('w', { partition: 'week' }), '04:00', at('2025-01-15T12:00:00Z'))).toEqual({ target: '2025-01-06', dueAt: at('2025-01-13T04:00:00Z') })
    expect(duePartition(job('w', { partition: 'week' }), '04:00', at('2025-01-13T03:00:00Z')).target).toBe('2024-12-30')
    expect(duePartition(job('m', { partition: 'month' }), '05:00', at('2025-02-01T05:00:00Z')).target).toBe('2025-01-01')
    expect(duePartition(job('n', { partition: 'none' }), '06:00', at('2025-01-15T07:00:00Z'))).toEqual({ target: null, dueAt: at('2025-01-15T06:00:00Z') })
  })

  it('alerts a job without partition that has not succeeded in the day before its deadline', async () => {
    const jobs = [job('dims', { partition: 'none', deadline: '06:00' })]
    await insert(db, { job: 'dims', status: 'SUCCESS', at: '2025-01-14T05:00:00Z' })
    expect((await runChecks(db.db, jobs, thresholds)).map((a) => [a.type, a.job, a.partition])).toEqual([['late', 'dims', null]])
    await insert(db, { job: 'dims', status: 'SUCCESS', at: '2025-01-14T23:00:00Z' })
    expect(await runChecks(db.db, jobs, thresholds)).toEqual([])
  })

  it('alerts when the newest partition processed fewer rows than a fraction of the median of the 7 before it', async () => {
    const jobs = [job('facts'), job('dims', { partition: 'none' })]
    for (let i = 1; i <= 9; i++) {
      const target = addDays('2025-01-14', -i)
      await insert(db, { job: 'facts', target, status: 'SUCCESS', at: `${addDays(target, 1)}T02:00:00Z`, rows: i === 9 ? 1 : 1000 + i })
      await insert(db, { job: 'dims', status: 'SUCCESS', at: `${addDays(target, 1)}T02:00:00Z`, rows: 1000 })
    }
    // a re-run of an old partition does not count as the newest
    await insert(db, { job: 'facts', target: '2025-01-13', status: 'SUCCESS', at: '2025-01-15T01:00:00Z', rows: 1004 })
    await insert(db, { job: 'facts', target: '2025-01-14', status: 'SUCCESS', at: '2025-01-15T02:00:00Z', rows: 450 })
    await insert(db, { job: 'dims', status: 'SUCCESS', at: '2025-01-15T02:00:00Z', rows: 1 })
    const alerts = await runChecks(db.db, jobs, thresholds)
    expect(alerts.map((a) => [a.type, a.job, a.partition])).toEqual([['rows_drop', 'facts', '2025-01-14']])
    // the 7 partitions before: 01-13 (re-run: 1004), then 1002..1007
    expect(alerts[0]!.details).toMatchObject({ rowsProcessed: 450, median: 1004, runs: 7 })
    expect(await runChecks(db.db, jobs, { ...thresholds, minRatio: 0.4 })).toEqual([])
    expect((await runChecks(db.db, jobs, { ...thresholds, runs: 2 }))[0]!.details).toMatchObject({ median: 1003, runs: 2 })
  })

  it('needs three earlier partitions before it calls a drop', async () => {
    await insert(
      db,
      { job: 'young', target: '2025-01-12', status: 'SUCCESS', at: '2025-01-13T02:00:00Z', rows: 1000 },
      { job: 'young', target: '2025-01-13', status: 'SUCCESS', at: '2025-01-14T02:00:00Z', rows: 1000 },
      { job: 'young', target: '2025-01-14', status: 'SUCCESS', at: '2025-01-15T02:00:00Z', rows: 1 },
    )
    expect(await runChecks(db.db, [job('young')], thresholds)).toEqual([])
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 2, 3])).toBe(2.5)
  })
})

describe('etl status: daily success rate', () => {
  it('counts SUCCESS among SUCCESS, FAILED and PARTIAL per day of the last 7, days without runs included', async () => {
    await withWarehouse(async (db) => {
      await clear(db)
      await insert(
        db,
        { job: 'a', status: 'SUCCESS', at: '2025-01-15T01:00:00Z' },
        { job: 'a', status: 'SUCCESS', at: '2025-01-15T02:00:00Z' },
        { job: 'a', status: 'SUCCESS', at: '2025-01-15T03:00:00Z' },
        { job: 'b', status: 'FAILED', at: '2025-01-15T03:00:00Z' },
        { job: 'b', status: 'SKIPPED', at: '2025-01-15T04:00:00Z' },
        { job: 'b', status: 'PARTIAL', at: '2025-01-13T04:00:00Z' },
        { job: 'a', status: 'SUCCESS', at: '2025-01-08T04:00:00Z' }, // 8 days back: out of the window
      )
      const days = await dailySuccessRate(db.db, { now: NOW, timezone: 'UTC' })
      expect(days.map((d) => d.date)).toEqual(['2025-01-09', '2025-01-10', '2025-01-11', '2025-01-12', '2025-01-13', '2025-01-14', '2025-01-15'])
      expect(days.at(-1)).toEqual({ date: '2025-01-15', runs: 5, success: 3, failed: 1, partial: 0, skipped: 1, running: 0, success_rate: 0.75 })
      expect(days[4]).toMatchObject({ date: '2025-01-13', partial: 1, success_rate: 0 })
      expect(days[0]).toMatchObject({ runs: 0, success_rate: null })
      expect((await dailySuccessRate(db.db, { now: NOW, timezone: 'UTC', jobName: 'b' })).at(-1)).toMatchObject({ runs: 2, success_rate: 0 })
    })
  })

  it('prints it with --summary --json, and leaves status --json an array of ledger rows', async () => {
    const today = new Date()
    await withWarehouse(async (db) => {
      await clear(db)
      await insert(db, { job: 'fx_write', target: '2025-01-01', status: 'SUCCESS', at: today }, { job: 'fx_write', target: '2025-01-02', status: 'FAILED', at: today })
    })
    const summary = await etl(['status', '--summary', '--json'], tw.env)
    expect(summary.code, summary.stderr).toBe(0)
    const days = JSON.parse(summary.stdout)
    expect(days).toHaveLength(7)
    expect(days.at(-1)).toMatchObject({ date: today.toISOString().slice(0, 10), success: 1, failed: 1, success_rate: 0.5 })
    const text = await etl(['status', '--summary'], tw.env)
    expect(text.stdout).toMatch(/success rate/)
    expect(text.stdout).toMatch(/50%/)
    const rows = JSON.parse((await etl(['status', '--json'], tw.env)).stdout)
    expect(rows.map((r: { status: string }) => r.status).sort()).toEqual(['FAILED', 'SUCCESS'])
    expect(rows[0]).toHaveProperty('job_name', 'fx_write')
  })
})

describe('etl check as a subprocess', () => {
  it('exits 0 and says ok without alerts, 1 with one; --json has ok and the alerts', async () => {
    await withWarehouse(clear)
    const ok = await etl(['check'], tw.env)
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/^ok: no alerts/)

    await withWarehouse((db) => insert(db, { job: 'fx_write', target: '2025-01-01', status: 'FAILED', at: new Date(), error: 'it broke' }))
    const text = await etl(['check'], tw.env)
    expect(text.code).toBe(1)
    expect(text.stdout).toMatch(/failed\s+fx_write\s+2025-01-01\s+FAILED at .*it broke/)
    const json = await etl(['check', '--json', '--hours', '2', '--min-ratio', '0.25', '--runs', '5'], tw.env)
    expect(json.code).toBe(1)
    const report = JSON.parse(json.stdout)
    expect(report).toMatchObject({ ok: false, thresholds: { hours: 2, minRatio: 0.25, runs: 5 } })
    expect(report.alerts).toEqual([expect.objectContaining({ type: 'failed', job: 'fx_write', partition: '2025-01-01' })])
  })

  it('reads deadlines from job files and alerts a late partition (exit 1)', async () => {
    await withWarehouse(clear)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-deadline-'))
    try {
      fs.writeFileSync(path.join(dir, 'due_at_midnight.mjs'), "export default { kind: 'custom', partition: 'day', deadline: '00:00', async run() {} }\n")
      const result = await etl(['check', '--json'], { ...tw.env, ETL_JOBS_PATH: dir })
      expect(result.code, result.stderr).toBe(1)
      const yesterday = addDays(new Date().toISOString().slice(0, 10), -1)
      expect(JSON.parse(result.stdout).alerts).toEqual([expect.objectContaining({ type: 'late', job: 'due_at_midnight', partition: yesterday })])

      fs.writeFileSync(path.join(dir, 'due_at_midnight.mjs'), "export default { kind: 'custom', partition: 'day', deadline: '24:00', async run() {} }\n")
      // a bad job file is an alert of its own (the other checks still run): exit 1, naming the field
      const bad = await etl(['check', '--json'], { ...tw.env, ETL_JOBS_PATH: dir })
      expect(bad.code).toBe(1)
      expect(JSON.parse(bad.stdout).alerts).toEqual([
        expect.objectContaining({ type: 'broken_job', job: 'due_at_midnight', message: expect.stringMatching(/due_at_midnight\.mjs: field 'deadline' must be a time of day written HH:MM/) }),
      ])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it.each([
    ['--hours 0', ['--hours', '0'], /--hours/],
    ['--hours x', ['--hours', 'x'], /--hours/],
    ['--min-ratio 0', ['--min-ratio', '0'], /--min-ratio.*fraction above 0 and at most 1/],
    ['--min-ratio 1.5', ['--min-ratio', '1.5'], /--min-ratio/],
    ['--min-ratio half', ['--min-ratio', 'half'], /--min-ratio/],
    ['--runs 0', ['--runs', '0'], /--runs/],
    ['an unknown flag', ['--loud'], /unknown option '--loud'/],
  ])('refuses %s with exit 2 and one line', async (_what, flags, message) => {
    const result = await etl(['check', ...flags], tw.env)
    expect(result.code).toBe(2)
    const lines = errorLines(result.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^etl: /)
    expect(lines[0]).toMatch(message)
  })
})
