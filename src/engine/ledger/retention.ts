import { sql, type Kysely } from 'kysely'

/** The ledger's default retention (ETL_LEDGER_RETENTION): half a year of every job's attempts. */
export const DEFAULT_LEDGER_RETENTION = '6 months'

/** ETL_LEDGER_RETENTION: a whole number of days, weeks, months or years, or `off`. */
export const LEDGER_RETENTION = /^(off|[1-9][0-9]{0,4} (day|week|month|year)s?)$/

/**
 * Removes ledger rows older than `now − retention` that nothing needs any more, in one statement:
 * of each (job, partition) it keeps the latest SUCCESS (skipping a finished partition depends on
 * it; partitioned jobs keep one row per partition, so `etl check`'s history of rows per partition
 * stays) and every row of a pair whose latest attempt is not a SUCCESS (a failure `etl retry`,
 * `etl check` and the operator still need, or a run in flight). Skipped rows are not attempts.
 * What goes is mostly the every-minute history of jobs without a partition (update_latest_prices).
 *
 * `max(started_at) filter …` per pair, beside each row, needs one pass over the rows of the pairs
 * that have an old row, in the order of the (job_name, target_date, started_at desc) index: no
 * per-pair lookups.
 */
export async function pruneLedger(db: Kysely<any>, options: { now: Date; retention: string }): Promise<number> {
  const cutoff = sql`((${options.now}::timestamptz at time zone 'UTC' - ${options.retention}::interval) at time zone 'UTC')`
  // a null target_date is a pair of its own: 'infinity' stands for it where rows are matched by pair
  const pair = sql`(job_name, coalesce(target_date, 'infinity'::date))`
  const result = await sql`
    delete from etl_job_runs r
    using (
      select id, started_at, status,
             max(started_at) filter (where status = 'SUCCESS') over pair as last_success,
             max(started_at) filter (where status <> 'SKIPPED') over pair as last_attempt
      from etl_job_runs
      -- only pairs with a row past retention (found by the started_at index): the bulk of a
      -- minutely job's recent history is not read once its old rows have gone
      where ${pair} in (select distinct job_name, coalesce(target_date, 'infinity'::date) from etl_job_runs where started_at < ${cutoff})
      window pair as (partition by job_name, target_date)
    ) p
    where r.id = p.id
      and p.started_at < ${cutoff}
      -- the pair's latest attempt succeeded (or it never had one): its history may go
      and p.last_attempt is not distinct from p.last_success
      and not (p.status = 'SUCCESS' and p.started_at = p.last_success)`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}
