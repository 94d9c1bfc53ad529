import { ident, literal, qualified } from '../../io/identifiers.js'
import type { CheckDefinition } from './schema.js'
import type { CheckScope } from './scope.js'

/** Columns of a table, name → type as `format_type` writes it; read from the catalog (catalog.ts). */
export type TableColumns = ReadonlyMap<string, string>

/** One statement returning one row: `failing` (rows that fail, or the row count for row_count) and `sample` (≤ 5 texts). */
export interface CompiledCheck {
  readonly text: string
  readonly parameters: readonly unknown[]
}

export const SAMPLE_SIZE = 5

/** What the placeholders of an `sql` check stand for. */
export interface Placeholders {
  readonly dateKey: number | null
  readonly from: Date | null
  readonly to: Date | null
}

const scoped = (scope: CheckScope) => `(select * from ${qualified(scope.table)} where ${scope.where})`

/** A row's name in a sample: its key columns (`id=12`), or the row as JSON, shortened. */
function sampleOf(scope: CheckScope, alias: string): string {
  if (!scope.key?.length) return `left(row_to_json(${alias})::text, 200)`
  if (scope.key.length === 1) return `coalesce(${alias}.${ident(scope.key[0]!)}::text, 'null')`
  return `concat_ws(', ', ${scope.key.map((k) => `'${k}=' || coalesce(${alias}.${ident(k)}::text, 'null')`).join(', ')})`
}

const tuple = (alias: string, columns: readonly string[]) =>
  columns.length === 1 ? `coalesce(${alias}.${ident(columns[0]!)}::text, 'null')` : `row(${columns.map((c) => `${alias}.${ident(c)}`).join(', ')})::text`

/** The failing rows counted, and up to five named, in one pass over a CTE. */
function counted(failing: string, count = 'count(*)'): string {
  return `with failing as (${failing})
    select (select ${count} from failing)::bigint as failing,
           (select coalesce(jsonb_agg(k), '[]'::jsonb) from (select distinct k from failing order by k limit ${SAMPLE_SIZE}) s) as sample`
}

/**
 * The one set-based statement of a check (not freshness, which reads the source: see run.ts).
 * Identifiers come from the checked definition (catalog.ts), values are bound parameters.
 */
export function compileCheck(check: Exclude<CheckDefinition, { type: 'freshness' }>, scope: CheckScope, columns: TableColumns, places: Placeholders): CompiledCheck {
  const rows = scoped(scope)
  switch (check.type) {
    case 'not_null':
      return { text: counted(`select ${sampleOf(scope, 't')} as k from ${rows} t where ${check.columns.map((c) => `t.${ident(c)} is null`).join(' or ')}`), parameters: [] }
    case 'unique': {
      // as a unique constraint: a row with a null in the columns is never a duplicate
      const cols = check.columns.map((c) => `t.${ident(c)}`)
      return {
        text: counted(
          `select ${tuple('t', check.columns)} as k, count(*) as n from ${rows} t
           where ${cols.map((c) => `${c} is not null`).join(' and ')} group by ${cols.join(', ')} having count(*) > 1`,
          'coalesce(sum(n), 0)',
        ),
        parameters: [],
      }
    }
    case 'accepted_values': {
      const type = columns.get(check.column) ?? 'text'
      const list = check.values.map((_, i) => `cast($${i + 1} as ${type})`).join(', ')
      return {
        text: counted(`select t.${ident(check.column)}::text as k from ${rows} t where t.${ident(check.column)} is not null and t.${ident(check.column)} not in (${list})`),
        parameters: check.values.map(String),
      }
    }
    case 'relationships':
      return {
        text: counted(
          `select t.${ident(check.column)}::text as k from ${rows} t
           where t.${ident(check.column)} is not null
             and not exists (select 1 from ${qualified(check.to)} r where r.${ident(check.field)} = t.${ident(check.column)})`,
        ),
        parameters: [],
      }
    case 'row_count':
      return { text: `select count(*)::bigint as failing, '[]'::jsonb as sample from ${rows} t`, parameters: [] }
    case 'expression':
      // as dbt's expression_is_true: a row fails when the expression is false; null is not_null's business
      return { text: counted(`select ${sampleOf(scope, 't')} as k from ${rows} t where not (${check.sql})`), parameters: [] }
    case 'sql':
      return { text: counted(`select left(row_to_json(q)::text, 200) as k from (${expandPlaceholders(check.query, scope, places)}) q`), parameters: [] }
  }
}

/** `{{scope}}`, `{{table}}`, `{{date_key}}`, `{{from}}`, `{{to}}` in an `sql` check. */
export function expandPlaceholders(query: string, scope: CheckScope, places: Placeholders): string {
  const values: Record<string, string> = {
    // a relation named scope: `from {{scope}} where …`
    scope: `${scoped(scope)} as scope`,
    table: qualified(scope.table),
    date_key: places.dateKey === null ? 'null' : String(places.dateKey),
    from: places.from ? literal(places.from) : 'null',
    to: places.to ? literal(places.to) : 'null',
  }
  return query.trim().replace(/;\s*$/, '').replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`unknown placeholder ${whole} in an sql check (known: ${Object.keys(values).map((k) => `{{${k}}}`).join(', ')})`)
    return value
  })
}

/** The freshness statement on the source: its newest value, and whether it is older than maxAge at `now`. */
export function compileFreshness(check: Extract<CheckDefinition, { type: 'freshness' }>, relation: string, now: Date): CompiledCheck {
  return {
    text: `select max(${ident(check.column)})::text as newest, coalesce(max(${ident(check.column)}) < cast($1 as timestamptz) - cast($2 as interval), true) as stale from ${relation} f`,
    parameters: [now.toISOString(), check.maxAge],
  }
}
