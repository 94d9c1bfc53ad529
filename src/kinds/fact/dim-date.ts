import { sql } from 'kysely'
import type { JobContext } from '../../engine/job.js'
import { ddlRunnerOf } from '../../storage/partitions.js'
import { dateOf, type IsoDate } from '../../time/calendar.js'

/**
 * Extends dim_date (migration 0011) to the build's day and to today in ETL_TIMEZONE, filling any
 * gap, before the facts' date_key foreign key needs the day. Idempotent; on a server it commits
 * at once on its own connection, like the day's partition, so concurrent backfill days do not
 * wait on each other's new calendar rows.
 */
export async function extendDimDate(ctx: JobContext, day: IsoDate): Promise<number> {
  const today = dateOf(ctx.now, ctx.config.timezone)
  const [from, to] = day < today ? [day, today] : [today, day]
  const { rows } = await sql<{ added: number }>`select nightshift_extend_dim_date(${from}::date, ${to}::date) as added`.execute(ddlRunnerOf(ctx).db)
  return Number(rows[0]?.added ?? 0)
}
