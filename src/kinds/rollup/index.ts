import { z } from 'zod'
import type { JobContext, JobResult, RegisteredJob } from '../../engine/job.js'
import { JOB_NAME } from '../../engine/job-schema.js'
import { invalidateRollupCache, rollupCacheTags, warmMetricsCache } from './cache.js'
import { calcCustomMetricsForDay } from './custom/job.js'
import { aggregateDay } from './daily.js'
import { aggregatePeriod } from './periods.js'
import { defineKind, type KindRoute } from '../kind.js'
import { dateKey } from '../../time/calendar.js'
import { METRIC_TIMEOUT_MS } from './custom/timeout.js'

const TARGET_OF = { daily: 'daily_metrics', weekly: 'weekly_metrics', monthly: 'monthly_metrics', custom_metrics: 'custom_metric_values' } as const
const PARTITION_OF = { daily: 'day', weekly: 'week', monthly: 'month', custom_metrics: 'day' } as const

/**
 * A rollup job names what it aggregates; the SQL lives beside this file, one file per operation.
 * `daily` reads the fact tables, `weekly`/`monthly` read daily_metrics only (and the ledger, for
 * completeness), `custom_metrics` computes every active custom metric definition for the day.
 */
export const RollupSchema = z
  .looseObject({
    aggregate: z.enum(['daily', 'weekly', 'monthly', 'custom_metrics']),
    /** weekly and monthly: the daily job whose SUCCESS rows make a week or month complete. */
    dailyJob: z.string().regex(JOB_NAME, 'must name a job').optional(),
    partition: z.enum(['day', 'week', 'month', 'none']).optional(),
    /** custom_metrics: each definition's statement is cancelled after this many ms (a failed unit); default and bound as `etl metric calc`. */
    statementTimeoutMs: z.number().int().min(1).max(METRIC_TIMEOUT_MS.max).optional(),
  })
  .superRefine((def, ctx) => {
    const wanted = PARTITION_OF[def.aggregate]
    if ((def.partition ?? 'day') !== wanted) {
      ctx.addIssue({ code: 'custom', path: ['partition'], message: `must be '${wanted}' for aggregate '${def.aggregate}'` })
    }
    if ((def.aggregate === 'weekly' || def.aggregate === 'monthly') && !def.dailyJob) {
      ctx.addIssue({ code: 'custom', path: ['dailyJob'], message: `must name the daily rollup job whose SUCCESS days make a ${def.aggregate === 'weekly' ? 'week' : 'month'} complete` })
    }
  })

export type RollupDefinition = z.infer<typeof RollupSchema>

export async function runRollup(ctx: JobContext): Promise<JobResult> {
  const def = ctx.job.definition as unknown as RollupDefinition
  switch (def.aggregate) {
    case 'daily':
      return aggregateDay(ctx)
    case 'weekly':
      return aggregatePeriod(ctx, 'week', def.dailyJob!)
    case 'monthly':
      return aggregatePeriod(ctx, 'month', def.dailyJob!)
    case 'custom_metrics':
      return calcCustomMetricsForDay(ctx)
  }
}

/** A weekly or monthly rollup alone on its schedule runs as `etl rollup weekly|monthly`: the last complete period, not yesterday's. */
function scheduleArgs(job: RegisteredJob): string[] | undefined {
  const { aggregate } = job.definition as unknown as RollupDefinition
  if ((aggregate === 'weekly' && job.partition === 'week') || (aggregate === 'monthly' && job.partition === 'month')) return ['rollup', aggregate]
  return undefined
}

// the metrics admin API of `etl serve` (api.ts), loaded when a request comes
const api = () => import('./api.js')
const METRICS_ROUTES: readonly KindRoute[] = [
  { method: 'GET', path: '/metrics/weekly', scope: 'metrics:read', handle: async (r) => (await api()).weekly(r) },
  { method: 'GET', path: '/metrics/monthly', scope: 'metrics:read', handle: async (r) => (await api()).monthly(r) },
  { method: 'GET', path: '/metrics/custom-definitions', scope: 'metrics:read', handle: async (r) => (await api()).listCustom(r) },
  { method: 'POST', path: '/metrics/custom-definitions', scope: 'metrics:write', handle: async (r) => (await api()).defineCustom(r) },
  { method: 'POST', path: '/metrics/calculate', scope: 'metrics:calculate', handle: async (r) => (await api()).calculate(r) },
]

export const rollup = defineKind({
  schema: RollupSchema,
  defaultPartition: 'day',
  inPipeline: true,
  execute: runRollup,
  routes: METRICS_ROUTES,
  cacheTags: rollupCacheTags,
  // the cache follows the warehouse: a rollup's payloads go once its rows are committed
  afterCommit: invalidateRollupCache,
  scheduleArgs,
  warmCache: warmMetricsCache,
  targets: (job) => [TARGET_OF[(job.definition as unknown as RollupDefinition).aggregate]],
  // the period's rows
  checkScope: ({ job, target }) => {
    const def = job.definition as unknown as RollupDefinition
    const day = target ? `'${target}'::date` : 'null'
    switch (def.aggregate) {
      case 'daily':
        return { table: 'daily_metrics', where: target ? `date_key = ${dateKey(target)}` : 'false', key: ['tenant_id'] }
      case 'weekly':
        return { table: 'weekly_metrics', where: `week_start = ${day}`, key: ['tenant_id'] }
      case 'monthly':
        return { table: 'monthly_metrics', where: `month_start = ${day}`, key: ['tenant_id'] }
      case 'custom_metrics':
        return { table: 'custom_metric_values', where: `metric_date = ${day}`, key: ['name', 'dimension_key'] }
    }
  },
})
