import pLimit from 'p-limit'
import { sql } from 'kysely'
import { z } from 'zod'
import type { JobContext, JobResult } from '../../engine/job.js'
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
  const limit = pLimit(concurrency)
  const failedUnits: Array<{ unit: string; error: string }> = []
  let written = 0

  const inTransaction = async (id: number) => {
    const savepoint = sql.raw(`savepoint series_tenant_${id}`)
    await sql`${savepoint}`.execute(ctx.db)
    try {
      let n = 0
      for (const w of windows) n += await populateTenantWindow(ctx.db, id, w)
      await sql.raw(`release savepoint series_tenant_${id}`).execute(ctx.db)
      return n
    } catch (error) {
      await sql.raw(`rollback to savepoint series_tenant_${id}`).execute(ctx.db)
      throw error
    }
  }
  const onOwnConnection = (id: number) =>
    ctx.warehouse.withSession((session) =>
      session.db.transaction().execute(async (trx) => {
        let n = 0
        for (const w of windows) n += await populateTenantWindow(trx, id, w)
        return n
      }),
    )

  await Promise.all(
    tenants.map((id) =>
      limit(async () => {
        if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`tenant id ${id} is not a positive integer`)
        try {
          written += concurrency === 1 ? await inTransaction(id) : await onOwnConnection(id)
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error)
          ctx.log.warn({ tenant: id }, `time series of tenant ${id} failed: ${message}`)
          failedUnits.push({ unit: `tenant ${id}`, error: message.slice(0, 300) })
        }
      }),
    ),
  )
  failedUnits.sort((a, b) => a.unit.localeCompare(b.unit, 'en', { numeric: true }))
  return { rowsProcessed: tenants.length * windows.length, rowsInserted: written, failedUnits: failedUnits.length ? failedUnits : undefined }
}

export const series = defineKind({
  schema: SeriesSchema,
  defaultPartition: 'none',
  inPipeline: true,
  execute: populateSeries,
})
