import { z } from 'zod'
import { IDENTIFIER, QUALIFIED } from '../../io/identifiers.js'

const column = z.string().regex(IDENTIFIER, 'must be a lower-case column name')
const table = z.string().regex(QUALIFIED, "must be a table name such as 'dim_learner'")
const common = {
  /** Names the check in the ledger and `etl_check_results`; default: its type and columns, e.g. `not_null(tenant_key)`. */
  name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower_snake_case').optional(),
  /** 'error' (default): a failure rolls the partition back; 'warn': it commits and `etl check` raises it. */
  severity: z.enum(['error', 'warn']).optional(),
}

/**
 * One data check of a job file (the `checks` field). dbt's names are accepted as they are, so a
 * dbt test carries over: `not_null`, `unique`, `accepted_values`, `relationships`; source
 * freshness is `freshness`.
 */
export const CheckSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('not_null'), columns: z.array(column).min(1), ...common }),
  z.strictObject({ type: z.literal('unique'), columns: z.array(column).min(1), ...common }),
  z.strictObject({
    type: z.literal('accepted_values'),
    column,
    values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1),
    ...common,
  }),
  z.strictObject({ type: z.literal('relationships'), column, to: table, field: column, ...common }),
  z
    .strictObject({
      type: z.literal('row_count'),
      min: z.number().int().min(0).optional(),
      max: z.number().int().min(0).optional(),
      /** At least this fraction of the median row count of the job's last `runs` SUCCESS runs. */
      vsMedian: z.number().gt(0).max(10).optional(),
      runs: z.number().int().min(1).max(100).optional(),
      ...common,
    })
    .refine((c) => c.min !== undefined || c.max !== undefined || c.vsMedian !== undefined, 'needs min, max or vsMedian'),
  z.strictObject({
    type: z.literal('expression'),
    /** A boolean SQL expression over the rows' columns that every row must satisfy. */
    sql: z.string().min(1).refine((s) => !s.includes(';'), 'must be one expression without ;'),
    ...common,
  }),
  z.strictObject({
    type: z.literal('freshness'),
    column,
    /** A PostgreSQL interval such as '26 hours'. */
    maxAge: z.string().regex(/^\s*\d+(\.\d+)?\s*(second|minute|hour|day|week)s?\s*$/i, "must be an interval such as '26 hours'"),
    ...common,
  }),
  z.strictObject({
    type: z.literal('sql'),
    /** A SELECT returning the failing rows; `{{scope}}` is this run's rows of the target, `{{date_key}}`, `{{from}}`, `{{to}}` as in facts. */
    query: z.string().min(1),
    ...common,
  }),
])

export const ChecksSchema = z.array(CheckSchema)

export type CheckDefinition = z.infer<typeof CheckSchema>

/** The name a check is recorded under. */
export function checkName(check: CheckDefinition): string {
  if (check.name) return check.name
  switch (check.type) {
    case 'not_null':
    case 'unique':
      return `${check.type}(${check.columns.join(', ')})`
    case 'accepted_values':
      return `accepted_values(${check.column})`
    case 'relationships':
      return `relationships(${check.column} → ${check.to}.${check.field})`
    case 'row_count':
      return 'row_count'
    case 'freshness':
      return `freshness(${check.column})`
    case 'expression':
      return `expression(${check.sql.replace(/\s+/g, ' ').trim().slice(0, 60)})`
    case 'sql':
      return 'sql'
  }
}
