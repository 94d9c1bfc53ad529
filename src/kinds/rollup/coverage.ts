import { sql, type Kysely } from 'kysely'
import type { IsoDate } from '../../time/calendar.js'

export interface Coverage {
  /** Days of `[from, to)` whose daily job has a SUCCESS row in the ledger. */
  readonly covered: IsoDate[]
  readonly missing: IsoDate[]
}

/**
 * Which days of `[from, to)` the daily rollup finished: a week or month is complete only when
 * every one of its days is SUCCESS in etl_job_runs.
 */
export async function dailyCoverage(db: Kysely<any>, dailyJob: string, from: IsoDate, to: IsoDate): Promise<Coverage> {
  const { rows } = await sql<{ day: string; done: boolean }>`
    select to_char(d.day, 'YYYY-MM-DD') as day,
           exists (select 1 from etl_job_runs r where r.job_name = ${dailyJob} and r.status = 'SUCCESS' and r.target_date = d.day) as done
    from (select ${from}::date + i as day from generate_series(0, ${to}::date - ${from}::date - 1) as i) d
    order by d.day`.execute(db)
  return { covered: rows.filter((r) => r.done).map((r) => r.day), missing: rows.filter((r) => !r.done).map((r) => r.day) }
}
