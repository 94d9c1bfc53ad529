import { sql, type Expression, type Kysely, type RawBuilder } from 'kysely'
import { EtlError } from '../../../errors.js'
import { dateKey, dayBounds, type IsoDate } from '../../../time/calendar.js'
import type { FilterOp, MetricDefinition } from './definition.js'
import { columnsOf, FormulaError, parseFormula, type Expr } from './formula.js'

/** A source's real columns (name → type as format_type writes it), read from the catalog. */
export type SourceColumns = ReadonlyMap<string, string>

const NUMERIC = /^(smallint|integer|bigint|numeric|real|double precision)\b/

const OPS = { '+': sql.raw('+'), '-': sql.raw('-'), '*': sql.raw('*') } as const
const AGG_SQL = { SUM: sql.raw('sum'), COUNT: sql.raw('count'), AVG: sql.raw('avg'), MIN: sql.raw('min'), MAX: sql.raw('max') } as const
const FILTER_SQL: Record<Exclude<FilterOp, 'in'>, '=' | '<>' | '>' | '>=' | '<' | '<='> = {
  eq: '=', ne: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=',
}

function refuse(def: Pick<MetricDefinition, 'name'>, message: string): never {
  throw new EtlError('BAD_INPUT', `metric '${def.name}': ${message}`)
}

function checkColumn(def: MetricDefinition, columns: SourceColumns, name: string, numeric: boolean, what: string): void {
  const type = columns.get(name)
  if (type === undefined) {
    refuse(def, `${what} '${name}' is not a column of ${def.dataSource} (it has ${[...columns.keys()].join(', ')})`)
  }
  if (numeric && !NUMERIC.test(type)) refuse(def, `${what} '${name}' is ${type}, not a number`)
}

/** SQL for a row-level expression: columns cast to numeric, numbers bound as parameters, x / 0 → null. */
function scalarSql(tree: Expr): RawBuilder<unknown> {
  switch (tree.type) {
    case 'number':
      return sql`cast(${tree.value} as numeric)`
    case 'column':
      return sql`cast(${sql.ref(tree.name)} as numeric)`
    case 'negate':
      return sql`(-${scalarSql(tree.operand)})`
    case 'binary':
      return tree.op === '/'
        ? sql`(${scalarSql(tree.left)} / nullif(${scalarSql(tree.right)}, 0))`
        : sql`(${scalarSql(tree.left)} ${OPS[tree.op]} ${scalarSql(tree.right)})`
    case 'aggregate':
      return tree.arg.type === 'star' ? sql`cast(count(*) as numeric)` : sql`cast(${AGG_SQL[tree.fn]}(${scalarSql(tree.arg)}) as numeric)`
    case 'star':
      throw new FormulaError("'*' is only allowed alone (COUNT) or as COUNT(*)")
  }
}

/**
 * The metric's value expression from its parse tree. Identifiers come only from the source's
 * catalog columns; numbers and filter values are bound parameters; operators and function names
 * come from fixed tables here. The formula text itself is never put into SQL.
 */
export function valueExpression(def: MetricDefinition, columns: SourceColumns): RawBuilder<unknown> {
  let tree: Expr
  try {
    tree = parseFormula(def.calculationFormula, { allowAggregates: def.metricType === 'RATIO', allowStar: def.metricType === 'COUNT' })
  } catch (error) {
    if (error instanceof FormulaError) refuse(def, `calculationFormula ${error.message}`)
    throw error
  }
  const bare = tree.type === 'column'
  // COUNT and DISTINCT_COUNT of a bare column take any type; everything else computes on numbers
  for (const c of columnsOf(tree)) checkColumn(def, columns, c, !(bare && (def.metricType === 'COUNT' || def.metricType === 'DISTINCT_COUNT')), 'formula column')
  const raw = bare ? sql.ref((tree as { name: string }).name) : undefined
  switch (def.metricType) {
    case 'COUNT':
      return tree.type === 'star' ? sql`count(*)` : sql`count(${raw ?? scalarSql(tree)})`
    case 'DISTINCT_COUNT':
      return sql`count(distinct ${raw ?? scalarSql(tree)})`
    case 'SUM':
      return sql`sum(${scalarSql(tree)})`
    case 'AVERAGE':
      return sql`avg(${scalarSql(tree)})`
    case 'MIN':
      return sql`min(${scalarSql(tree)})`
    case 'MAX':
      return sql`max(${scalarSql(tree)})`
    case 'PERCENTILE':
      return sql`percentile_cont(cast(${def.percentile!} as double precision)) within group (order by ${scalarSql(tree)})`
    case 'RATIO': {
      if (tree.type !== 'binary' || tree.op !== '/' || tree.left.type !== 'aggregate' || tree.right.type !== 'aggregate') {
        refuse(def, 'a RATIO formula is two aggregates divided, such as SUM(correct_responses) / SUM(total_responses)')
      }
      return sql`(${scalarSql(tree.left)} / nullif(${scalarSql(tree.right)}, 0))`
    }
  }
}

const DATE_KEY = /^(integer|bigint)$/
const TIMESTAMP = /^timestamp/

/** The day column and how it compares: a YYYYMMDD integer, a date, or a timestamp (bounds in the zone). */
function dayColumn(def: MetricDefinition, columns: SourceColumns): { name: string; as: 'date_key' | 'date' | 'timestamp' } {
  const name = def.dateColumn ?? 'date_key'
  const type = columns.get(name)
  if (type === undefined) {
    refuse(def, `${def.dateColumn ? 'dateColumn' : 'the default dateColumn'} '${name}' is not a column of ${def.dataSource}; set "dateColumn" to its YYYYMMDD integer, date or timestamp column`)
  }
  if (DATE_KEY.test(type)) return { name, as: 'date_key' }
  if (type === 'date') return { name, as: 'date' }
  if (TIMESTAMP.test(type)) return { name, as: 'timestamp' }
  refuse(def, `dateColumn '${name}' is ${type}; it must be a YYYYMMDD integer, a date or a timestamp`)
}

/** Checks the whole definition against the source's columns; throws BAD_INPUT (exit 2) on the first problem. */
export function checkDefinition(def: MetricDefinition, columns: SourceColumns): void {
  dayColumn(def, columns)
  valueExpression(def, columns)
  for (const d of def.dimensions) checkColumn(def, columns, d, false, 'dimension')
  for (const [c, f] of Object.entries(def.filters)) {
    checkColumn(def, columns, c, false, 'filter column')
    const values = 'in' in f && f.in ? f.in : Object.values(f)
    const numeric = NUMERIC.test(columns.get(c)!)
    for (const v of values) {
      if (numeric !== (typeof v === 'number')) refuse(def, `filter on '${c}' compares a ${columns.get(c)} with ${JSON.stringify(v)}`)
    }
  }
}

/**
 * The metric over `[from, to]` (days, both included; a timestamp day column's days in `zone`): one
 * row per combination of the dimensions, `dimensions` as a jsonb object and `value`. Built with
 * kysely from the checked definition.
 */
export function metricQuery(db: Kysely<any>, def: MetricDefinition, columns: SourceColumns, from: IsoDate, to: IsoDate, zone = 'UTC') {
  checkDefinition(def, columns)
  const dims: Expression<unknown> =
    def.dimensions.length === 0
      ? sql`'{}'::jsonb`
      : sql`jsonb_build_object(${sql.join(def.dimensions.map((d) => sql`cast(${d} as text), ${sql.ref(d)}`))})`
  const day = dayColumn(def, columns)
  let query = db.selectFrom(def.dataSource).select([sql`${dims}`.as('dimensions'), valueExpression(def, columns).as('value')])
  query =
    day.as === 'date_key'
      ? query.where(sql.ref(day.name), '>=', dateKey(from)).where(sql.ref(day.name), '<=', dateKey(to))
      : day.as === 'date'
        ? query.where(sql.ref(day.name), '>=', sql`cast(${from} as date)`).where(sql.ref(day.name), '<=', sql`cast(${to} as date)`)
        : query.where(sql.ref(day.name), '>=', dayBounds(from, zone).from).where(sql.ref(day.name), '<', dayBounds(to, zone).to)
  for (const [c, f] of Object.entries(def.filters)) {
    const [op, value] = Object.entries(f)[0] as [FilterOp, unknown]
    query = op === 'in' ? query.where(sql.ref(c), 'in', value as unknown[]) : query.where(sql.ref(c), FILTER_SQL[op], value)
  }
  if (def.dimensions.length) query = query.groupBy(def.dimensions.map((d) => sql.ref(d)))
  for (const d of def.dimensions) query = query.orderBy(sql.ref(d))
  return query
}
