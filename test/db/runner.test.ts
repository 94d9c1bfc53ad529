import { sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { backfill } from '../../src/engine/backfill.js'
import { insertRun } from '../../src/engine/ledger/index.js'
import { JobRegistry } from '../../src/engine/registry.js'
import { failedPairs, retry } from '../../src/engine/retry.js'
import { runJob } from '../../src/engine/runner.js'
import { runSequence } from '../../src/engine/sequence.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { countRows, createFixtureTable, customJob, ledgerRows, runEnvFor, writerJob } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  await createFixtureTable(db)
})

afterAll(async () => {
  await db?.close()
  await tw?.drop()
})

beforeEach(async () => {
  await db.exec('truncate etl_job_runs; truncate fx_target')
})

const env = () => runEnvFor(db, tw.config)

describe('runner', () => {
  it('runs a day and records SUCCESS with its counts', async () => {
    const job = writerJob('fx_day', 4)
    const outcome = await runJob(env(), { job, date: '2025-01-15' })
    expect(outcome.status).toBe('SUCCESS')
    expect(await countRows(db, 'fx_day', '2025-01-15')).toBe(4)
    const [row] = await ledgerRows(db, 'fx_day')
    expect(row).toMatchObject({ status: 'SUCCESS', target_date: '2025-01-15', rows_processed: 4, rows_inserted: 4, attempt: 1 })
    expect(row!.completed_at).toBeInstanceOf(Date)
    expect(row!.duration_ms).toBeGreaterThanOrEqual(0)
  })

  it('skips a day already SUCCESS unless --force, and records the skip', async () => {
    const job = writerJob('fx_skip', 2)
    await runJob(env(), { job, date: '2025-01-15' })
    const skipped = await runJob(env(), { job, date: '2025-01-15' })
    expect(skipped.status).toBe('SKIPPED')
    expect(skipped.message).toMatch(/already SUCCESS/)
    const forced = await runJob(env(), { job, date: '2025-01-15', force: true })
    expect(forced.status).toBe('SUCCESS')
    expect(await countRows(db, 'fx_skip', '2025-01-15')).toBe(2)
    const rows = await ledgerRows(db, 'fx_skip')
    expect(rows.map((r) => r.status)).toEqual(['SUCCESS', 'SKIPPED', 'SUCCESS'])
    expect(rows[2]!.attempt).toBe(2)
    expect(rows[2]!.rows_deleted).toBe(2)
  })

  it('rolls back a failed job’s writes and records FAILED with the error', async () => {
    const job = customJob('fx_boom', async (ctx) => {
      await sql`insert into fx_target (job, target, i) values ('fx_boom', ${ctx.target}::date, 1)`.execute(ctx.db)
      throw new Error('source went away')
    })
    const outcome = await runJob(env(), { job, date: '2025-01-15' })
    expect(outcome.status).toBe('FAILED')
    expect(await countRows(db, 'fx_boom', '2025-01-15')).toBe(0)
    const [row] = await ledgerRows(db, 'fx_boom')
    expect(row).toMatchObject({ status: 'FAILED', error_message: 'source went away' })
  })

  it('never writes a connection password into error_message', async () => {
    const job = customJob('fx_leak', async () => {
      throw new Error('could not connect to postgres://etl:hunter2secret@db.internal:5432/wh')
    })
    await runJob(env(), { job, date: '2025-01-15' })
    const [row] = await ledgerRows(db, 'fx_leak')
    expect(row!.error_message).not.toContain('hunter2secret')
    expect(row!.error_message).toContain('postgres://etl:***@db.internal')
  })

  it('commits the units that worked and is PARTIAL naming the ones that failed', async () => {
    const job = customJob('fx_partial', async (ctx) => {
      await sql`insert into fx_target (job, target, i) values ('fx_partial', ${ctx.target}::date, 1)`.execute(ctx.db)
      return { rowsProcessed: 1, failedUnits: [{ unit: 'AAPL', error: 'HTTP 404' }] }
    })
    const outcome = await runJob(env(), { job, date: '2025-01-15' })
    expect(outcome.status).toBe('PARTIAL')
    expect(await countRows(db, 'fx_partial', '2025-01-15')).toBe(1)
    const [row] = await ledgerRows(db, 'fx_partial')
    expect(row!.error_message).toContain('AAPL (HTTP 404)')
    expect(row!.failed_units).toEqual([{ unit: 'AAPL', error: 'HTTP 404' }])
  })

  it('takes over a partition whose RUNNING row was left by a dead process', async () => {
    const job = writerJob('fx_dead', 2)
    await insertRun(db.db, {
      invocationId: '00000000-0000-4000-8000-000000000000',
      jobName: 'fx_dead',
      runDate: '2025-01-16',
      targetDate: '2025-01-15',
      status: 'RUNNING',
      startedAt: new Date(Date.now() - 60_000),
    })
    const outcome = await runJob(env(), { job, date: '2025-01-15' })
    expect(outcome.status).toBe('SUCCESS')
    const rows = await ledgerRows(db, 'fx_dead')
    expect(rows.map((r) => r.status)).toEqual(['FAILED', 'SUCCESS'])
    expect(rows[0]!.error_message).toMatch(/^abandoned/)
    expect(rows[1]!.attempt).toBe(2)
  })

  it('runs a job without a partition each time it is called, with target_date null', async () => {
    const job = writerJob('fx_none', 1, { partition: 'none' })
    await runJob(env(), { job, date: '2025-01-15' })
    await runJob(env(), { job, date: '2025-01-16' })
    const rows = await ledgerRows(db, 'fx_none')
    expect(rows.map((r) => [r.status, r.target_date])).toEqual([
      ['SUCCESS', null],
      ['SUCCESS', null],
    ])
  })

  it('gives a weekly job its Monday as the partition and the whole week as bounds', async () => {
    let seen: unknown
    const job = customJob('fx_week', async (ctx) => void (seen = { target: ctx.target, bounds: ctx.bounds }), { partition: 'week' })
    await runJob(env(), { job, date: '2025-01-16' })
    expect(seen).toEqual({
      target: '2025-01-13',
      bounds: { from: new Date('2025-01-13T00:00:00Z'), to: new Date('2025-01-20T00:00:00Z') },
    })
  })

  it('prints the plan on --dry-run and records nothing', async () => {
    const job = writerJob('fx_dry', 1)
    await runJob(env(), { job, date: '2025-01-14' })
    const would = await runJob(env(), { job, date: '2025-01-15', dryRun: true })
    const wouldSkip = await runJob(env(), { job, date: '2025-01-14', dryRun: true })
    expect([would.status, wouldSkip.status]).toEqual(['WOULD_RUN', 'WOULD_SKIP'])
    expect(wouldSkip.message).toMatch(/already SUCCESS/)
    expect((await ledgerRows(db, 'fx_dry')).length).toBe(1)
    expect(await countRows(db, 'fx_dry', '2025-01-15')).toBe(0)
    // not even the pair's lock row (the embedded database locks its folder and has none)
    const locks = await sql<{ target_key: string }>`select target_key from etl_run_locks where job_name = 'fx_dry'`.execute(db.db)
    expect(locks.rows.map((r) => r.target_key)).toEqual(tw.kind === 'postgres' ? ['2025-01-14'] : [])
  })
})

describe('pipeline order, backfill and retry', () => {
  const failing = new Set<string>()
  const flaky = () =>
    customJob('fx_flaky', async (ctx) => {
      if (failing.has(ctx.target!)) throw new Error(`no data for ${ctx.target}`)
      return { rowsProcessed: 1 }
    })
  const after = () => writerJob('fx_after', 1, { dependsOn: ['fx_flaky'] })

  beforeEach(() => failing.clear())

  it('records a dependent of a failed job as FAILED upstream, without running it', async () => {
    failing.add('2025-01-15')
    const outcomes = await runSequence(env(), [flaky(), after()], '2025-01-15')
    expect(outcomes.map((o) => o.status)).toEqual(['FAILED', 'FAILED'])
    expect(outcomes[1]!.message).toBe('not run: upstream job fx_flaky failed')
    expect(await countRows(db, 'fx_after', '2025-01-15')).toBe(0)
  })

  it('backfills every day, leaves SUCCESS days alone, and a failed day does not stop the others', async () => {
    const e = env()
    await runJob(e, { job: flaky(), date: '2025-01-02' })
    await runJob(e, { job: after(), date: '2025-01-02' })
    failing.add('2025-01-03')
    const summary = await backfill(env(), { from: '2025-01-01', to: '2025-01-05', jobs: [flaky(), after()], concurrency: 2 })
    expect(summary.plan.alreadyDone).toBe(2)
    const byDay = Object.fromEntries(summary.outcomes.filter((o) => o.job === 'fx_after').map((o) => [o.target, o.status]))
    expect(byDay).toEqual({ '2025-01-01': 'SUCCESS', '2025-01-03': 'FAILED', '2025-01-04': 'SUCCESS', '2025-01-05': 'SUCCESS' })
    for (const day of ['2025-01-01', '2025-01-02', '2025-01-04', '2025-01-05']) expect(await countRows(db, 'fx_after', day)).toBe(1)
  })

  it('backfill runs an undated job that reads the days after them, and undated sources before them', async () => {
    const before = writerJob('fx_dims', 1, { partition: 'none' })
    const after = writerJob('fx_series', 1, { partition: 'none', dependsOn: ['fx_flaky'] })
    const summary = await backfill(env(), { from: '2025-01-01', to: '2025-01-02', jobs: new JobRegistry([before, flaky(), after]).jobs })
    expect(summary.outcomes.map((o) => `${o.job}@${o.target ?? '-'}`)).toEqual(['fx_dims@-', 'fx_flaky@2025-01-01', 'fx_flaky@2025-01-02', 'fx_series@-'])
  })

  it('backfill --force runs the SUCCESS days again', async () => {
    await backfill(env(), { from: '2025-01-01', to: '2025-01-02', jobs: [flaky()] })
    const again = await backfill(env(), { from: '2025-01-01', to: '2025-01-02', jobs: [flaky()], force: true })
    expect(again.plan.alreadyDone).toBe(0)
    expect(again.outcomes.map((o) => o.status)).toEqual(['SUCCESS', 'SUCCESS'])
  })

  it('retry --run-id re-runs exactly the failed pairs of that run, with their own dates', async () => {
    const registry = new JobRegistry([flaky(), after(), writerJob('fx_other', 1)])
    failing.add('2025-01-03').add('2025-01-05')
    const first = env()
    await backfill(first, { from: '2025-01-01', to: '2025-01-05', jobs: registry.jobs })
    failing.clear()
    const again = env()
    const pairs = await failedPairs(again, { runId: first.invocationId })
    expect(pairs.map((p) => `${p.jobName}@${p.targetDate}`).sort()).toEqual([
      'fx_after@2025-01-03',
      'fx_after@2025-01-05',
      'fx_flaky@2025-01-03',
      'fx_flaky@2025-01-05',
    ])
    const { outcomes } = await retry(again, registry, pairs)
    expect(outcomes.map((o) => `${o.job}@${o.target}:${o.status}`)).toEqual([
      'fx_flaky@2025-01-03:SUCCESS',
      'fx_after@2025-01-03:SUCCESS',
      'fx_flaky@2025-01-05:SUCCESS',
      'fx_after@2025-01-05:SUCCESS',
    ])
    expect(await countRows(db, 'fx_other', '2025-01-03')).toBe(1)
    const otherRuns = await ledgerRows(db, 'fx_other')
    expect(otherRuns.length).toBe(5) // untouched by the retry
  })

  it('retry runs a failed pair again with the parameters it first ran with', async () => {
    let fail = true
    const seen: unknown[] = []
    const job = customJob('fx_params', async (ctx) => {
      seen.push(ctx.parameters.symbols)
      if (fail) throw new Error('provider down')
    })
    const first = env()
    await runJob(first, { job, date: '2025-01-07', parameters: { symbols: ['AAPL', 'MSFT'] } })
    fail = false
    const again = env()
    const { outcomes } = await retry(again, new JobRegistry([job]), await failedPairs(again, { runId: first.invocationId }))
    expect(outcomes.map((o) => o.status)).toEqual(['SUCCESS'])
    expect(seen).toEqual([['AAPL', 'MSFT'], ['AAPL', 'MSFT']])
  })

  it('retry --failed over a range finds pairs whose latest attempt failed', async () => {
    failing.add('2025-01-02')
    await backfill(env(), { from: '2025-01-01', to: '2025-01-03', jobs: [flaky()] })
    expect((await failedPairs(env(), { from: '2025-01-01', to: '2025-01-03' })).map((p) => p.targetDate)).toEqual(['2025-01-02'])
    failing.clear()
    await runJob(env(), { job: flaky(), date: '2025-01-02' })
    expect(await failedPairs(env(), { from: '2025-01-01', to: '2025-01-03' })).toEqual([])
  })
})
