import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorLines, etl } from '../helpers/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'

let tw: TestWarehouse

beforeAll(async () => {
  tw = await createTestWarehouse()
})

afterAll(async () => {
  await tw?.drop()
})

describe('etl rollup and etl series as subprocesses', () => {
  it('rolls up a week whose days are all SUCCESS (exit 0), and a week with missing days as PARTIAL (exit 1)', async () => {
    const days = await etl(['backfill', '--from', '2025-01-06', '--to', '2025-01-12', '--jobs', 'aggregate_daily_metrics'], tw.env)
    expect(days.code, days.stderr).toBe(0)
    const week = await etl(['rollup', 'weekly', '--week', '2025-01-08'], tw.env)
    expect(week.code, week.stderr).toBe(0)
    expect(week.stdout).toMatch(/aggregate_weekly_metrics\s+2025-01-06\s+SUCCESS/)
    const next = await etl(['rollup', 'weekly', '--week=2025-01-13'], tw.env)
    expect(next.code).toBe(1)
    expect(next.stdout).toMatch(/aggregate_weekly_metrics\s+2025-01-13\s+PARTIAL\s+.*incomplete/)
    const months = await etl(['rollup', 'monthly', '--from', '2024-12', '--to', '2025-01'], tw.env)
    expect(months.code).toBe(1) // neither month has all its days
    expect(months.stdout).toMatch(/aggregate_monthly_metrics\s+2024-12-01\s+PARTIAL/)
    expect(months.stdout).toMatch(/aggregate_monthly_metrics\s+2025-01-01\s+PARTIAL/)
  })

  it('runs the series for every active tenant (none yet) and shows an empty series', async () => {
    const result = await etl(['series', '--period', 'monthly'], tw.env)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/populate_tenant_time_series\s+-\s+SUCCESS/)
    const show = await etl(['series', 'show', '--company', '7', '--json'], tw.env)
    expect(show.code).toBe(0)
    expect(JSON.parse(show.stdout)).toEqual([])
  })

  describe('bad input: exit 2, one line, nothing recorded', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['an unknown rollup', ['rollup', 'daily'], /unknown rollup 'daily'/],
      ['a malformed --week', ['rollup', 'weekly', '--week', '2025-13-01'], /--week '2025-13-01' is not a/],
      ['an impossible --week', ['rollup', 'weekly', '--week=2025-02-30'], /--week '2025-02-30' is not a calendar day/],
      ['a malformed --month', ['rollup', 'monthly', '--month', '2025-13'], /--month '2025-13' is not a month/],
      ['a day given as --month', ['rollup', 'monthly', '--month', '2025-01-15'], /--month '2025-01-15' is not a month/],
      ['--week on a monthly rollup', ['rollup', 'monthly', '--week', '2025-01-15'], /--week is for 'etl rollup weekly'/],
      ['--from without --to', ['rollup', 'weekly', '--from', '2025-01-01'], /both --from and --to/],
      ['a reversed week range', ['rollup', 'weekly', '--from', '2025-02-01', '--to', '2025-01-01'], /--from 2025-02-01 is after --to 2025-01-01/],
      ['a bad month in a range', ['rollup', 'monthly', '--from', '2025-1', '--to', '2025-02'], /--from '2025-1' is not a month/],
      ['a company id that is not a number', ['series', '--company', 'acme'], /--company 'acme' is not a tenant id/],
      ['a negative company id', ['series', '--company=-3'], /--company '-3' is not a tenant id/],
      ['a company id carrying SQL', ['series', '--company', '1; drop schema public cascade'], /is not a tenant id/],
      ['a company id of zero', ['series', 'show', '--company', '0'], /--company '0' is not a tenant id/],
      ['a company that is not an active tenant', ['series', '--company', '424242'], /--company 424242 is not an active tenant/],
      ['an unknown period', ['series', '--period', 'daily'], /--period 'daily' is not a period/],
      ['series show without --company', ['series', 'show'], /needs --company/],
      ['an unknown series action', ['series', 'drop'], /unknown series action 'drop'/],
      ['a bad series --concurrency', ['series', '--concurrency', '0'], /--concurrency/],
    ]
    for (const [what, args, message] of cases) {
      it(`refuses ${what}`, async () => {
        const result = await etl(args, tw.env)
        expect(result.code, result.stderr).toBe(2)
        const lines = errorLines(result.stderr)
        expect(lines, result.stderr).toHaveLength(1)
        expect(lines[0]).toMatch(/^etl: /)
        expect(lines[0]).toMatch(message)
      })
    }

    it('recorded nothing for any of them', async () => {
      const status = await etl(['status', '--json', '--limit', '1000'], tw.env)
      const rows = JSON.parse(status.stdout) as Array<{ job_name: string; parameters: { company?: unknown } }>
      expect(rows.filter((r) => r.parameters.company !== undefined)).toEqual([])
    })
  })
})
