import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import type { Database } from '../../src/db/database.js'
import type { LedgerReader } from '../../src/engine/job.js'
import { insertRun, latestAttempt, recentRuns, successDays, type NewRun } from '../../src/engine/ledger/index.js'
import { runJob } from '../../src/engine/runner.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { customJob, runEnvFor } from '../helpers/run-env.js'

let tw: TestWarehouse
let db: Database

const row = (jobName: string, targetDate: string | null, status: NewRun['status'], startedAt: string, extra: Partial<NewRun> = {}) =>
  insertRun(db.db, {
    invocationId: '00000000-0000-4000-8000-000000000009',
    jobName,
    runDate: startedAt.slice(0, 10),
    targetDate,
    status,
    startedAt: new Date(startedAt),
    ...extra,
  })

beforeAll(async () => {
  tw = await createTestWarehouse()
  db = await tw.open()
  await row('lr_daily', '2025-03-01', 'SUCCESS', '2025-03-02T02:00:00Z')
  await row('lr_daily', '2025-03-02', 'FAILED', '2025-03-03T02:00:00Z')
  await row('lr_daily', '2025-03-03', 'SUCCESS', '2025-03-04T02:00:00Z')
  await row('lr_daily', '2025-03-03', 'SUCCESS', '2025-03-04T03:00:00Z') // forced again: one day, not two
  await row('lr_daily', '2025-03-05', 'SUCCESS', '2025-03-06T02:00:00Z')
  await row('lr_daily', '2025-03-03', 'FAILED', '2025-03-05T02:00:00Z', { errorMessage: 'boom' })
  await row('lr_daily', '2025-03-03', 'SKIPPED', '2025-03-05T03:00:00Z')
  await row('lr_other', '2025-03-09', 'SUCCESS', '2025-03-10T02:00:00Z')
})

afterAll(async () => {
  await db?.close()
  await tw?.drop()
})

describe('the ledger read API', () => {
  it('successDays lists the SUCCESS days of [from, to) once each, in order, of that job only', async () => {
    expect(await successDays(db.db, 'lr_daily', '2025-03-01', '2025-03-05')).toEqual(['2025-03-01', '2025-03-03'])
    expect(await successDays(db.db, 'lr_daily', '2025-03-01', '2025-03-06')).toEqual(['2025-03-01', '2025-03-03', '2025-03-05'])
    expect(await successDays(db.db, 'lr_nobody', '2025-03-01', '2025-03-31')).toEqual([])
  })

  it('latestAttempt is the newest attempt of the pair, a SKIPPED row not being one', async () => {
    const last = await latestAttempt(db.db, 'lr_daily', '2025-03-03')
    expect(last).toMatchObject({ status: 'FAILED', error_message: 'boom' })
    expect(last!.started_at.toISOString()).toBe('2025-03-05T02:00:00.000Z')
    expect(await latestAttempt(db.db, 'lr_daily', '2025-03-04')).toBeUndefined()
  })

  it('recentRuns returns rows typed from the table, newest first', async () => {
    const rows = await recentRuns(db.db, { jobName: 'lr_daily', limit: 2 })
    expect(rows.map((r) => [r.target_date, r.status])).toEqual([
      ['2025-03-05', 'SUCCESS'],
      ['2025-03-03', 'SKIPPED'],
    ])
    expect(rows[0]!.started_at).toBeInstanceOf(Date)
    expect(rows[0]!.parameters).toEqual({})
  })

  it("a job's work reads the same facts through ctx.ledger, inside its run", async () => {
    let seen: unknown
    const job = customJob('lr_reader', async (ctx) => {
      const ledger: LedgerReader = ctx.ledger
      seen = {
        latest: await ledger.latestSuccessTarget('lr_daily'),
        none: await ledger.latestSuccessTarget('lr_nobody'),
        days: await ledger.successDays('lr_daily', '2025-03-01', '2025-03-04'),
        success: Boolean(await ledger.findSuccess('lr_other', '2025-03-09')),
        attempt: (await ledger.latestAttempt('lr_daily', '2025-03-02'))?.status,
      }
      return { rowsProcessed: 0 }
    }, { partition: 'none' })
    const outcome = await runJob(runEnvFor(db, loadConfig(tw.env)), { job })
    expect(outcome.status).toBe('SUCCESS')
    expect(seen).toEqual({ latest: '2025-03-05', none: null, days: ['2025-03-01', '2025-03-03'], success: true, attempt: 'FAILED' })
  })
})
