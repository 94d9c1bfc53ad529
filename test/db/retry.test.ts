import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { JobRegistry } from '../../src/engine/registry.js'
import { failedPairs, retry } from '../../src/engine/retry.js'
import { runJob } from '../../src/engine/runner.js'
import { runSequence } from '../../src/engine/sequence.js'
import { failedRuns } from '../../src/ops/check.js'
import { useTestDatabases, type TestWarehouse } from '../helpers/db.js'
import { createFixtureTable, customJob, ledgerRows, runEnvFor, writerJob } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database
useTestDatabases((t) => ({ tw, db } = t))
beforeAll(() => createFixtureTable(db))

let down = false
beforeEach(async () => {
  down = false
  await db.exec('truncate etl_job_runs; truncate fx_target')
})

// the clock moves on a second per call, so attempts are ordered as they happen
let tick = Date.parse('2025-01-20T02:00:00Z')
const env = () => runEnvFor(db, tw.config, () => new Date((tick += 1000)))
const source = () =>
  customJob('fx_source', async () => {
    if (down) throw new Error('source down')
    return { rowsProcessed: 1 }
  })
const dims = () => customJob('fx_dims', async () => {
  if (down) throw new Error('source down')
  return { rowsProcessed: 1 }
}, { partition: 'none' })
const after = () => writerJob('fx_after', 1, { dependsOn: ['fx_source'] })
const registry = () => new JobRegistry([dims(), source(), after()])
const check = async () => failedRuns(db.db, { now: new Date(tick + 1000), hours: 24 * 365 })

describe('etl retry', () => {
  it('retries a failed forced run forced, instead of skipping it over the older SUCCESS, and check is green after', async () => {
    await runSequence(env(), registry().jobs, '2025-01-15')
    down = true
    const forced = await runSequence(env(), registry().jobs, '2025-01-15', { force: true })
    expect(forced.map((o) => o.status)).toEqual(['FAILED', 'FAILED', 'FAILED'])
    expect((await check()).length).toBe(3)
    down = false

    const again = env()
    const pairs = await failedPairs(again, { from: '2025-01-15', to: '2025-01-15' })
    const { outcomes } = await retry(again, registry(), pairs)
    expect(outcomes.map((o) => `${o.job}@${o.target ?? '-'}:${o.status}`)).toEqual(['fx_dims@-:SUCCESS', 'fx_source@2025-01-15:SUCCESS', 'fx_after@2025-01-15:SUCCESS'])
    expect(await check()).toEqual([])
    expect(await failedPairs(env(), { from: '2025-01-15', to: '2025-01-15' })).toEqual([])
  })

  it('--failed over a range takes the undated jobs asked for a day of it, and their retry keeps that day', async () => {
    down = true
    // run days later for the 15th: run_date is the 20th, the date asked for is the 15th
    await runSequence(env(), registry().jobs, '2025-01-15')
    down = false
    const pairs = await failedPairs(env(), { from: '2025-01-15', to: '2025-01-15' })
    expect(pairs.map((p) => `${p.jobName}@${p.targetDate ?? '-'}`)).toEqual(['fx_dims@-', 'fx_after@2025-01-15', 'fx_source@2025-01-15'])
    const { outcomes } = await retry(env(), registry(), pairs)
    expect(outcomes.every((o) => o.status === 'SUCCESS')).toBe(true)
    const dimsRetry = (await ledgerRows(db, 'fx_dims')).at(-1)!
    expect(dimsRetry.parameters.date).toBe('2025-01-15')
    expect(await failedPairs(env(), { from: '2025-01-15', to: '2025-01-15' })).toEqual([])
    expect(await check()).toEqual([])
  })

  it('--run-id leaves out pairs that have succeeded since, even when the failed attempt was forced', async () => {
    await runJob(env(), { job: source(), date: '2025-01-15' })
    down = true
    const failed = env()
    await runJob(failed, { job: source(), date: '2025-01-15', force: true })
    down = false
    await runJob(env(), { job: source(), date: '2025-01-15', force: true })
    const { outcomes } = await retry(env(), registry(), await failedPairs(env(), { runId: failed.invocationId }))
    expect(outcomes).toEqual([])
  })
})
