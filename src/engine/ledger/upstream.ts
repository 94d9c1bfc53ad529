import { sql } from 'kysely'
import type { IsoDate } from '../../time/calendar.js'
import type { Db } from './db.js'

/**
 * Partitions of a job, started in `[from, before)`, built before one of its dependencies was
 * built again for a day of the same period: they hold numbers their inputs no longer have. Each
 * with the dependency rebuilt last. Partitions never built are missing, not stale: not listed.
 */
export async function rebuiltUpstream(
  db: Db,
  job: { name: string; partition: 'day' | 'week' | 'month' },
  dependsOn: readonly string[],
  from: IsoDate,
  before: IsoDate,
): Promise<Array<{ target: IsoDate; upstream: string }>> {
  if (dependsOn.length === 0) return []
  const samePeriod = {
    day: sql`u.target_date = j.target_date`,
    week: sql`u.target_date >= j.target_date and u.target_date < j.target_date + 7`,
    month: sql`u.target_date >= j.target_date and u.target_date < (j.target_date + interval '1 month')::date`,
  }[job.partition]
  const { rows } = await sql<{ target: IsoDate; upstream: string }>`
    select j.target_date::text as target, (array_agg(u.job_name order by u.started_at desc))[1] as upstream
    from (
      select target_date, max(started_at) as built from etl_job_runs
      where job_name = ${job.name} and status = 'SUCCESS' and target_date >= ${from}::date and target_date < ${before}::date
      group by target_date
    ) j
    join etl_job_runs u on u.job_name in (${sql.join([...dependsOn])}) and u.status = 'SUCCESS' and ${samePeriod} and u.started_at > j.built
    group by j.target_date
    order by j.target_date`.execute(db)
  return rows
}
