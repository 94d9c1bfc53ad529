import { sql, type Kysely } from 'kysely'
import { addDays, dateOf, type IsoDate } from '../../time/calendar.js'

/**
 * The daily success rate of the last days, by the day runs started (`run_date`, in ETL_TIMEZONE):
 * SUCCESS among the attempts that did work (SUCCESS, FAILED, PARTIAL). SKIPPED runs did no work
 * and RUNNING ones have not ended, so neither counts; both are still shown.
 */
export interface DailyRate {
  readonly date: IsoDate
  readonly runs: number
  readonly success: number
  readonly failed: number
  readonly partial: number
  readonly skipped: number
  readonly running: number
  /** success / (success + failed + partial), 0..1; null on a day without such attempts. */
  readonly success_rate: number | null
}

export async function dailySuccessRate(
  db: Kysely<any>,
  options: { now: Date; timezone: string; days?: number; jobName?: string },
): Promise<DailyRate[]> {
  const days = options.days ?? 7
  const to = dateOf(options.now, options.timezone)
  const from = addDays(to, -(days - 1))
  const job = options.jobName ? sql`and job_name = ${options.jobName}` : sql``
  const { rows } = await sql<Omit<DailyRate, 'success_rate'>>`
    select run_date::text as date, count(*)::int as runs,
      (count(*) filter (where status = 'SUCCESS'))::int as success,
      (count(*) filter (where status = 'FAILED'))::int as failed,
      (count(*) filter (where status = 'PARTIAL'))::int as partial,
      (count(*) filter (where status = 'SKIPPED'))::int as skipped,
      (count(*) filter (where status = 'RUNNING'))::int as running
    from etl_job_runs
    where run_date between ${from}::date and ${to}::date ${job}
    group by run_date`.execute(db)
  const byDate = new Map(rows.map((r) => [r.date, r]))
  const out: DailyRate[] = []
  for (let i = days - 1; i >= 0; i--) {
    const date = addDays(to, -i)
    const r = byDate.get(date) ?? { date, runs: 0, success: 0, failed: 0, partial: 0, skipped: 0, running: 0 }
    const worked = r.success + r.failed + r.partial
    out.push({ ...r, success_rate: worked ? Math.round((r.success / worked) * 10_000) / 10_000 : null })
  }
  return out
}

/** As percent text for tables: '97.5%', or '-' when nothing ran. */
export const percent = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(1).replace(/\.0$/, '')}%`)
