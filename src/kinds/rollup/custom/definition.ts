import { z } from 'zod'
import { EtlError } from '../../../errors.js'
import { MAX_FORMULA_LENGTH } from './formula.js'

/** Warehouse tables a custom metric may read. Every one has `date_key` (YYYYMMDD), its day. */
export const DATA_SOURCES = [
  'fact_sessions',
  'fact_focus_events',
  'fact_homework_events',
  'fact_recommendation_events',
  'fact_learning_progress',
  'daily_metrics',
] as const
export type DataSource = (typeof DATA_SOURCES)[number]

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
  dataSource: z.enum(DATA_SOURCES),
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
    calculationFormula: def.calculationFormula,
    dimensions: def.dimensions,
    filters,
    visibility: def.visibility,
    percentile: def.percentile,
    isActive: def.isActive,
  })
}
