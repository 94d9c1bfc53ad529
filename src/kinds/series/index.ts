import { z } from 'zod'
import type { JobContext, JobResult } from '../../engine/job.js'
import { eachUnit } from '../../engine/units.js'
import { activeTenants, populateTenantWindow, SERIES_PERIODS, seriesWindow, type SeriesPeriod } from './time-series.js'
import { dateOf } from '../../time/calendar.js'
import { defineKind } from '../kind.js'

export const SeriesSchema = z.looseObject({
  /** Which windows to refresh; default all four. */
  periods: z.array(z.enum(SERIES_PERIODS)).min(1).optional(),
  /** Tenants at once on a server (1 on the embedded database); default 4. */
  concurrency: z.number().int().min(1).max(64).optional(),
})

export type SeriesDefinition = z.infer<typeof SeriesSchema>

/**
 * populate_tenant_time_series: for each active tenant (or the one in `parameters.company`),
 * calls populate_company_metrics_time_series once per window. One tenant's failure does not stop
 * the others: it is a failed unit (the run is PARTIAL) and the next run does it again.
 *
 * Concurrency 1 (always on PGlite): every tenant runs on the run's own transaction, inside a
 * SAVEPOINT that is rolled back if it fails, so the rows commit with the ledger row. Concurrency
 * N on a server: each tenant runs on its own pooled connection and commits by itself — one
 * connection cannot run statements in parallel, and the series are idempotent, so a crash
 * mid-run leaves each tenant either refreshed or as before.
 */
export async function populateSeries(ctx: JobContext): Promise<JobResult> {
  const def = ctx.job.definition as unknown as SeriesDefinition
  const params = ctx.parameters as { company?: number; period?: SeriesPeriod; concurrency?: number }
  const today = dateOf(ctx.now, ctx.config.timezone)
  const periods = params.period ? [params.period] : (def.periods ?? [...SERIES_PERIODS])
  const windows = periods.map((p) => seriesWindow(p, today))
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
      let n = 0
      for (const w of windows) n += await populateTenantWindow(db, id, w)
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
  // one schema per tenant, made by populate_company_metrics_time_series
  targets: () => ['analytics_company_{id}.metrics_time_series'],
})
