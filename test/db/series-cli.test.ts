import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { dateKey, dateRange } from '../../src/time/calendar.js'
import { errorLines, etl } from '../helpers/cli.js'
import { etlPty } from '../helpers/pty.js'
import { useSubprocessWarehouse, type TestWarehouse } from '../helpers/db.js'

let tw: TestWarehouse
const withWarehouse = useSubprocessWarehouse((t) => (tw = t))
const env = () => ({ ...tw.env, ETL_NOW: '2025-03-12T12:00:00Z' })

describe('etl series --date as a subprocess', () => {
  it('refuses a day after today and a malformed day: one line, exit 2, nothing run', async () => {
    const future = await etl(['series', '--date', '2025-03-13'], env())
    expect(future.code).toBe(2)
    expect(errorLines(future.stderr)).toEqual([expect.stringMatching(/--date 2025-03-13 is after today \(2025-03-12 in UTC\)/)])
    const bad = await etl(['series', '--date', '2025-02-30'], env())
    expect(bad.code).toBe(2)
    expect(errorLines(bad.stderr)).toHaveLength(1)
    const shown = await etl(['series', 'show', '--company', '1', '--date', '2025-03-01'], env())
    expect(shown.code).toBe(2)
    expect(errorLines(shown.stderr)).toEqual([expect.stringMatching(/--date is for 'etl series'/)])
    const runs = await withWarehouse(async (db) => (await sql<{ n: number }>`select count(*)::int as n from etl_job_runs`.execute(db.db)).rows[0]!.n)
    expect(runs).toBe(0)
  })

  it('computes the windows ending on the day given, and shows them with is_complete', async () => {
    await withWarehouse(async (db) => {
      await db.exec(`create table dim_tenant (tenant_key bigint generated always as identity, id bigint, name text,
        is_active boolean, is_current boolean, is_deleted boolean not null default false);
        insert into dim_tenant (id, name, is_active, is_current) values (1, 'Acme', true, true)`)
      for (const d of dateRange('2025-02-01', '2025-02-14')) {
        await sql`insert into daily_metrics (tenant_id, date_key, metric_date, sessions, session_minutes)
          values (1, ${dateKey(d)}, ${d}::date, ${Number(d.slice(8))}, 0)`.execute(db.db)
      }
    })
    const done = await etl(['series', '--company', '1', '--period', 'monthly', '--date', '2025-02-10'], env())
    expect(done.code, done.stderr).toBe(0)
    const show = await etl(['series', 'show', '--company', '1', '--json'], env())
    expect(show.code, show.stderr).toBe(0)
    const rows = (JSON.parse(show.stdout) as Array<{ ts: string; series: string; running_sum: number; is_complete: boolean }>).filter((r) => r.series === 'sessions')
    expect(rows.map((r) => r.ts)).toEqual(dateRange('2025-02-01', '2025-02-10'))
    // 1 + 2 + … + 10, and nothing complete: no daily rollup ran
    expect(rows.at(-1)).toMatchObject({ running_sum: 55, is_complete: false })
    // at a terminal: the table, with whether each bucket is complete
    const screen = await etlPty(['series', 'show', '--company', '1'], env())
    expect(screen.code).toBe(0)
    expect(screen.text).toMatch(/tenant 1, monthly window from 2025-02-01 \(day buckets\)/)
    expect(screen.lines.find((l) => /^ts\s/.test(l.trim()))).toMatch(/ts\s+series\s+value\s+running_sum\s+complete/)
    expect(screen.lines.find((l) => l.includes('2025-02-10') && l.includes('sessions'))).toMatch(/2025-02-10\s+sessions\s+10\s+55\s+no/)
  })
})
