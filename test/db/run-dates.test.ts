import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorLines, etl } from '../helpers/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'

/**
 * Only periods that have ended run. The clock is fixed with ETL_NOW: it is Wednesday
 * 2026-12-02 08:00 UTC, so the week of 2026-11-30 and the month of December are still going.
 */
let tw: TestWarehouse
let env: Record<string, string>

beforeAll(async () => {
  tw = await createTestWarehouse()
  env = { ...tw.env, ETL_NOW: '2026-12-02T08:00:00Z' }
})

afterAll(async () => {
  await tw?.drop()
})

async function ledger(): Promise<Array<{ job_name: string; target_date: string | null; status: string; error_message: string | null }>> {
  const status = await etl(['status', '--json', '--limit', '1000'], env)
  return JSON.parse(status.stdout)
}

describe('days and periods that have not ended', () => {
  const refused: Array<[string, string[], RegExp]> = [
    ['a day in the future', ['run', '--date', '2030-01-01', '--jobs', 'fx_write'], /--date 2030-01-01 has not ended yet in UTC \(today is 2026-12-02\); the latest day that can run is 2026-12-01/],
    ['today, which has not ended', ['run-job', '--job', 'fx_write', '--date', '2026-12-02'], /--date 2026-12-02 has not ended yet/],
    ['a day of a week that has not ended, for a weekly job', ['run-job', '--job', 'aggregate_weekly_metrics', '--date', '2026-12-01'], /in the week of 2026-11-30, which has not ended yet \(it ends 2026-12-06\)/],
    ['a backfill reaching today', ['backfill', '--from', '2026-11-28', '--to', '2026-12-02'], /--to 2026-12-02 has not ended yet/],
    ['a rollup of the current week', ['rollup', 'weekly', '--week', '2026-12-01'], /the week of 2026-11-30 has not ended yet in UTC \(today is 2026-12-02\); the latest week that can be rolled up starts 2026-11-23/],
    ['a rollup range of future months only', ['rollup', 'monthly', '--from', '2026-12', '--to', '2027-02'], /the month of 2026-12-01 has not ended yet/],
  ]
  for (const [what, args, message] of refused) {
    it(`refuses ${what}: exit 2, one line, nothing recorded`, async () => {
      const result = await etl(args, env)
      expect(result.code, result.stderr).toBe(2)
      const lines = errorLines(result.stderr)
      expect(lines, result.stderr).toHaveLength(1)
      expect(lines[0]).toMatch(message)
    })
  }

  it('recorded nothing for any of them', async () => {
    expect((await ledger()).filter((r) => r.target_date && r.target_date >= '2026-11-30')).toEqual([])
  })

  it('a weekly rollup over a range leaves out the week still going, and says so', async () => {
    const result = await etl(['rollup', 'weekly', '--from', '2026-11-16', '--to', '2026-12-01'], env)
    expect(result.stdout).toMatch(/left out the week of 2026-11-30: not ended yet \(today is 2026-12-02\)/)
    expect(result.stdout).toMatch(/aggregate_weekly_metrics\s+2026-11-16\s/)
    expect(result.stdout).toMatch(/aggregate_weekly_metrics\s+2026-11-23\s/)
    expect(result.stdout).not.toMatch(/2026-11-30\s+(PARTIAL|SUCCESS|FAILED)/)
    expect((await ledger()).filter((r) => r.target_date === '2026-11-30')).toEqual([])
  })

  it('run-job without --date runs the latest partition that has ended: last week for a weekly job', async () => {
    const result = await etl(['run-job', '--job', 'aggregate_weekly_metrics', '--force'], env)
    expect(result.stdout).toMatch(/aggregate_weekly_metrics\s+2026-11-23\s/)
  })

  it('a backfill to yesterday leaves out the weeks and months that have not ended', async () => {
    const result = await etl(['backfill', '--from', '2026-11-30', '--to', '2026-12-01', '--jobs', 'aggregate_daily_metrics,aggregate_weekly_metrics'], env)
    expect(result.stdout).toMatch(/left out aggregate_weekly_metrics for the week of 2026-11-30: it has not ended yet/)
    expect((await ledger()).filter((r) => r.job_name === 'aggregate_weekly_metrics' && r.target_date === '2026-11-30')).toEqual([])
  })

  it('exits 3 on a malformed ETL_NOW, naming it', async () => {
    const result = await etl(['status'], { ...env, ETL_NOW: 'yesterday' })
    expect(result.code).toBe(3)
    expect(errorLines(result.stderr)[0]).toMatch(/ETL_NOW must be an ISO 8601 instant/)
  })
})
