import { z } from 'zod'
import { EtlError } from '../../../errors.js'
import { IDENTIFIER } from '../../../io/identifiers.js'
import { MAX_FORMULA_LENGTH } from './formula.js'

/**
 * A custom metric reads one warehouse table that a registered job writes (its `targets`: the
 * fact tables, daily_metrics, a user's own fact table, a synced table …); the allow-list is the
 * registry's, checked by `checkSource`. The day of a row is its `dateColumn` (default `date_key`,
 * YYYYMMDD), a date or a timestamp.
 */
export type DataSource = string

export const METRIC_TYPES = ['COUNT', 'SUM', 'AVERAGE', 'DISTINCT_COUNT', 'PERCENTILE', 'RATIO', 'MAX', 'MIN'] as const
export type MetricType = (typeof METRIC_TYPES)[number]

export const FILTER_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in'] as const
export type FilterOp = (typeof FILTER_OPS)[number]

const scalar = z.union([z.string().max(200), z.number().finite(), z.boolean()])
const name = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower_snake_case, starting with a letter')
const column = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case column name')

const filter = z
  .strictObject({
    eq: scalar.optional(),
    ne: scalar.optional(),
    gt: scalar.optional(),
    gte: scalar.optional(),
    lt: scalar.optional(),
    lte: scalar.optional(),
    in: z.array(scalar).min(1).max(1000).optional(),
  })
  .refine((f) => Object.keys(f).length === 1, 'must have exactly one of eq, ne, gt, gte, lt, lte, in')

/**
 * A custom metric definition file (JSON). Unknown keys, types, sources or visibilities are
 * refused; the formula and the column names are checked against the source by `compile.ts`.
 */
export const MetricDefinitionSchema = z.strictObject({
  name,
  description: z.string().max(1000).optional(),
  metricType: z.enum(METRIC_TYPES),
  dataSource: z.string().regex(IDENTIFIER, "must be a table name such as 'fact_sessions'"),
  /** The column that puts a row on a day: a YYYYMMDD integer (default `date_key`), a date or a timestamp. */
  dateColumn: column.optional(),
  calculationFormula: z.string().min(1).max(MAX_FORMULA_LENGTH),
  dimensions: z.array(column).max(5).default([]),
  filters: z.record(column, filter).default({}),
  visibility: z.enum(['PRIVATE', 'TEAM', 'ORGANIZATION', 'PUBLIC']),
  /** PERCENTILE only: the fraction, e.g. 0.9 for p90. */
  percentile: z.number().gt(0).lt(1).optional(),
  isActive: z.boolean().default(true),
})

export type MetricDefinition = z.infer<typeof MetricDefinitionSchema>

/** Validates parsed JSON; problems are BAD_INPUT (exit 2) naming the field. */
export function parseDefinition(json: unknown, file = 'the definition'): MetricDefinition {
  const parsed = MetricDefinitionSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const field = issue.path.map(String).join('.')
    throw new EtlError('BAD_INPUT', `${file}: ${field ? `field '${field}' ` : ''}${issue.message}`)
  }
  const def = parsed.data
  if (def.metricType === 'PERCENTILE' && def.percentile === undefined) {
    throw new EtlError('BAD_INPUT', `${file}: field 'percentile' is required for PERCENTILE (a fraction such as 0.9)`)
  }
  if (def.metricType !== 'PERCENTILE' && def.percentile !== undefined) {
    throw new EtlError('BAD_INPUT', `${file}: field 'percentile' is only for PERCENTILE`)
  }
  if (new Set(def.dimensions).size !== def.dimensions.length) throw new EtlError('BAD_INPUT', `${file}: field 'dimensions' names a column twice`)
  return def
}

/** The definition as stored and compared between versions: keys in a fixed order. */
export function canonical(def: MetricDefinition): string {
  const filters = Object.fromEntries(Object.entries(def.filters).sort(([a], [b]) => a.localeCompare(b)))
  return JSON.stringify({
    name: def.name,
    description: def.description,
    metricType: def.metricType,
    dataSource: def.dataSource,
    dateColumn: def.dateColumn,
    calculationFormula: def.calculationFormula,
    dimensions: def.dimensions,
    filters,
    visibility: def.visibility,
    percentile: def.percentile,
    isActive: def.isActive,
  })
}

/**
 * The source must be a table a registered job writes (`allowed`, from the kinds' `targets`):
 * BAD_INPUT naming the field and the tables there are otherwise.
 */
export function checkSource(def: Pick<MetricDefinition, 'dataSource'>, allowed: readonly string[], file = 'the definition'): void {
  if (allowed.includes(def.dataSource)) return
  throw new EtlError(
    'BAD_INPUT',
    `${file}: field 'dataSource' '${def.dataSource}' is not a table a job writes; use one of ${allowed.join(', ')}`,
  )
}
