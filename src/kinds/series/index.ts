import { z } from 'zod'
import type { JobContext, JobResult } from '../../engine/job.js'
import { eachUnit } from '../../engine/units.js'
import { JOB_NAME } from '../../engine/job-schema.js'
import { activeTenants, fillTenantWindow, historyWindows, SERIES_PERIODS, seriesWindow, type SeriesPeriod, type SeriesWindow } from './time-series.js'
import { ensureTenantSeriesTable } from './table.js'
import { addDays, dateOf, type IsoDate } from '../../time/calendar.js'
import { defineKind } from '../kind.js'

export const SeriesSchema = z.looseObject({
  /** Which windows to refresh; default all four. */
  periods: z.array(z.enum(SERIES_PERIODS)).min(1).optional(),
  /** Tenants at once on a server (1 on the embedded database); default 4. */
  concurrency: z.number().int().min(1).max(64).optional(),
  /** The daily rollup whose SUCCESS days make a bucket `is_complete`; default aggregate_daily_metrics. */
  dailyJob: z.string().regex(JOB_NAME, 'must name a job').optional(),
})

export type SeriesDefinition = z.infer<typeof SeriesSchema>

/** What a series run is asked for: `etl series` flags, or the range of the backfill it ends. */
export interface SeriesParameters {
  company?: number
  period?: SeriesPeriod
  concurrency?: number
  /** `etl series --date D`: the windows ending at D instead of today. */
  endDate?: IsoDate
  /** Given by `etl backfill` to the jobs that run after its days: every window of the range. */
  backfillRange?: { from: IsoDate; to: IsoDate }
}

/** The windows a run computes: today's, those ending at `--date`, or the history of a backfill's range. */
export function windowsOf(params: SeriesParameters, periods: readonly SeriesPeriod[], today: IsoDate): SeriesWindow[] {
  if (params.backfillRange) {
    // a range that reaches past today stops at today: no window ends in the future
    const to = params.backfillRange.to > today ? today : params.backfillRange.to
    return params.backfillRange.from > to ? [] : historyWindows(periods, params.backfillRange.from, to)
  }
  const end = params.endDate ?? today
  if (end > today) throw new Error(`the series date ${end} is after today (${today})`)
  return periods.map((p) => seriesWindow(p, end))
}

/**
 * populate_tenant_time_series: for each active tenant (or the one in `parameters.company`),
 * makes its table if missing (ensureTenantSeriesTable) and fills each window (fillTenantWindow).
 * One tenant's failure does not stop the others: it is a failed unit (the run is PARTIAL) and the
 * next run does it again.
 *
 * Concurrency 1 (always on PGlite): every tenant runs on the run's own transaction, inside a
 * SAVEPOINT that is rolled back if it fails, so the rows commit with the ledger row. Concurrency
 * N on a server: each tenant runs on its own pooled connection and commits by itself — one
 * connection cannot run statements in parallel, and the series are idempotent, so a crash
 * mid-run leaves each tenant either refreshed or as before.
 */
export async function populateSeries(ctx: JobContext): Promise<JobResult> {
  const def = ctx.job.definition as unknown as SeriesDefinition
  const params = ctx.parameters as SeriesParameters
  const today = dateOf(ctx.now, ctx.config.timezone)
  const periods = params.period ? [params.period] : (def.periods ?? [...SERIES_PERIODS])
  const windows = windowsOf(params, periods, today)
  if (windows.length === 0) return { rowsProcessed: 0 }
  const first = windows.reduce((d, w) => (w.from < d ? w.from : d), windows[0]!.from)
  const last = windows.reduce((d, w) => (w.to > d ? w.to : d), windows[0]!.to)
  // the days the daily rollup finished: what makes a bucket complete
  const rolledUp = await ctx.ledger.successDays(def.dailyJob ?? 'aggregate_daily_metrics', first, addDays(last, 1))
  const tenants = params.company !== undefined ? [params.company] : await activeTenants(ctx.db)
  const concurrency = ctx.warehouse.concurrent ? (params.concurrency ?? def.concurrency ?? 4) : 1
  // a bad id is a bad run, not a failed unit
  const bad = tenants.find((id) => !Number.isSafeInteger(id) || id <= 0)
  if (bad !== undefined) throw new Error(`tenant id ${bad} is not a positive integer`)
  let written = 0
  const failedUnits = await eachUnit(
    ctx.db,
    tenants,
    async (id, db) => {
      await ensureTenantSeriesTable(db, id, { days: { from: first, to: last }, now: ctx.now, jobName: ctx.job.name })
      let n = 0
      for (const w of windows) n += await fillTenantWindow(db, id, w, rolledUp)
      written += n
    },
    {
      name: (id) => `tenant ${id}`,
      onError: (id, message) => ctx.log.warn({ tenant: id }, `time series of tenant ${id} failed: ${message}`),
      concurrency,
      transaction: (fn) => ctx.warehouse.withSession((session) => session.db.transaction().execute(fn)),
    },
  )
  return { rowsProcessed: tenants.length * windows.length, rowsInserted: written, failedUnits: failedUnits.length ? failedUnits : undefined }
}

export const series = defineKind({
  schema: SeriesSchema,
  defaultPartition: 'none',
  inPipeline: true,
  execute: populateSeries,
  // one schema per tenant, made by ensureTenantSeriesTable (src/kinds/series/table.ts)
  // and the view across tenants that ensureTenantSeriesTable re-creates
  targets: () => ['analytics_company_{id}.metrics_time_series', 'metrics_time_series_all'],
})
