import { sql, type Kysely } from 'kysely'
import { EtlError, pgErrorCode } from '../../../errors.js'
import type { IsoDate } from '../../../time/calendar.js'
import { metricQuery, type SourceColumns } from './compile.js'
import type { MetricDefinition } from './definition.js'

export type CostClass = 'low' | 'medium' | 'high'

/** EXPLAIN's total cost → a class. Above `high`, `test` and `calc` need --allow-expensive. */
export const COST_LIMITS = { medium: 10_000, high: 1_000_000 } as const

export function costClass(totalCost: number): CostClass {
  return totalCost >= COST_LIMITS.high ? 'high' : totalCost >= COST_LIMITS.medium ? 'medium' : 'low'
}

export interface MetricRun {
  cost: number
  costClass: CostClass
  rows: Array<{ dimensions: Record<string, unknown>; value: number | null }>
}

/**
 * Runs a metric over a range, read-only, inside a transaction with `statement_timeout`: first
 * EXPLAIN for the cost class (high is refused unless allowed), then the query itself.
 */
export async function runMetric(
  db: Kysely<any>,
  def: MetricDefinition,
  columns: SourceColumns,
  range: { from: IsoDate; to: IsoDate; zone?: string },
  options: { timeoutMs: number; allowExpensive: boolean },
): Promise<MetricRun> {
  const compiled = metricQuery(db, def, columns, range.from, range.to, range.zone).compile()
  return db.transaction().execute(async (trx) => {
    await sql.raw(`set local statement_timeout = ${Math.trunc(options.timeoutMs)}`).execute(trx)
    await sql.raw('set transaction read only').execute(trx).catch(() => {})
    const plan = await trx.executeQuery<{ 'QUERY PLAN': unknown }>({ ...compiled, sql: `explain (format json) ${compiled.sql}` })
    const cost = totalCost(plan.rows[0]?.['QUERY PLAN'])
    const cls = costClass(cost)
    if (cls === 'high' && !options.allowExpensive) {
      throw new EtlError('BAD_INPUT', `metric '${def.name}' is expensive (EXPLAIN cost ${Math.round(cost)}, class high); narrow --from/--to or add --allow-expensive`)
    }
    try {
      const result = await trx.executeQuery<{ dimensions: Record<string, unknown> | string; value: string | number | null }>(compiled)
      return {
        cost,
        costClass: cls,
        rows: result.rows.map((r) => ({
          dimensions: typeof r.dimensions === 'string' ? JSON.parse(r.dimensions) : r.dimensions,
          value: r.value === null ? null : Number(r.value),
        })),
      }
    } catch (error) {
      if (pgErrorCode(error) === '57014') {
        throw new EtlError('JOB_FAILED', `metric '${def.name}' was cancelled after ${options.timeoutMs} ms (statement_timeout); narrow the range or raise --statement-timeout`)
      }
      throw error
    }
  })
}

function totalCost(plan: unknown): number {
  const parsed = typeof plan === 'string' ? JSON.parse(plan) : plan
  const cost = (parsed as Array<{ Plan?: { 'Total Cost'?: number } }>)?.[0]?.Plan?.['Total Cost']
  return typeof cost === 'number' ? cost : 0
}
