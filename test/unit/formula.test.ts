import fc from 'fast-check'
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely'
import { describe, expect, it } from 'vitest'
import { EtlError } from '../../src/errors.js'
import { metricQuery, type SourceColumns } from '../../src/kinds/rollup/custom/compile.js'
import { costClass } from '../../src/kinds/rollup/custom/execute.js'
import { checkSource, parseDefinition, type MetricDefinition } from '../../src/kinds/rollup/custom/definition.js'
import { FormulaError, parseFormula } from '../../src/kinds/rollup/custom/formula.js'

// compiles only: no database behind it
const db = new Kysely<any>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
})

const COLUMNS: SourceColumns = new Map([
  ['session_id', 'bigint'], ['date_key', 'integer'], ['tenant_id', 'bigint'], ['learner_id', 'bigint'], ['subject_key', 'bigint'],
  ['duration_seconds', 'integer'], ['activities_completed', 'integer'], ['correct_responses', 'integer'], ['total_responses', 'integer'],
  ['started_at', 'timestamp with time zone'], ['ended_at', 'timestamp with time zone'],
])
const ALLOWED_IDENTIFIERS = new Set([...COLUMNS.keys(), 'fact_sessions', 'dimensions', 'value'])
const KEYWORDS = new Set([
  'select', 'from', 'where', 'and', 'group', 'by', 'order', 'as', 'cast', 'numeric', 'double', 'precision', 'count', 'distinct',
  'sum', 'avg', 'min', 'max', 'nullif', 'percentile_cont', 'within', 'jsonb_build_object', 'text', 'jsonb', 'in', 'dimensions', 'value',
  '0', // the one literal the builder writes itself: nullif(x, 0)
])

/**
 * The SQL a definition compiles to holds nothing but: allow-listed quoted identifiers, $n
 * parameters, our fixed keywords and function names, and operators/punctuation. No quotes
 * other than around identifiers and the one '{}' literal, no ';', no comments.
 */
function assertOnlyGrammar(compiled: { sql: string; parameters: readonly unknown[] }, def: MetricDefinition) {
  let rest = compiled.sql
  rest = rest.replace(/"([^"]*)"/g, (_, name: string) => {
    expect(ALLOWED_IDENTIFIERS.has(name), `identifier ${name}`).toBe(true)
    return ' '
  })
  rest = rest.replace(/\$\d+/g, ' ').replace(/'\{\}'::jsonb/g, ' ')
  expect(rest).not.toMatch(/[;'"\\]|--|\/\*/)
  for (const word of rest.split(/[\s(),:+\-*/<>=]+/).filter(Boolean)) {
    expect(KEYWORDS.has(word), `word ${JSON.stringify(word)} in ${compiled.sql}`).toBe(true)
  }
  const filterValues = Object.values(def.filters).flatMap((f) => Object.values(f).flat())
  for (const p of compiled.parameters) {
    if (typeof p === 'number') expect(Number.isFinite(p)).toBe(true)
    else expect([...def.dimensions, ...filterValues]).toContain(p)
  }
}

/**
 * Refused (BAD_INPUT, exit 2) or compiled into the grammar: nothing else may happen. As at
 * `define`: the schema, then the allow-list of sources (the registry's targets; here one), then
 * the columns.
 */
function defineOrRefuse(json: unknown): 'refused' | 'accepted' {
  let compiled
  let def: MetricDefinition
  try {
    def = parseDefinition(json)
    checkSource(def, ['fact_sessions'])
    compiled = metricQuery(db, def, COLUMNS, '2025-01-01', '2025-01-31').compile()
  } catch (error) {
    expect(error).toBeInstanceOf(EtlError)
    expect((error as EtlError).exitCode).toBe(2)
    return 'refused'
  }
  assertOnlyGrammar(compiled, def)
  return 'accepted'
}

const base = { name: 'm', metricType: 'SUM', dataSource: 'fact_sessions', visibility: 'TEAM' }

describe('formula parser', () => {
  it('parses precedence and parentheses', () => {
    expect(parseFormula('a + b * 2')).toEqual({
      type: 'binary', op: '+', left: { type: 'column', name: 'a' },
      right: { type: 'binary', op: '*', left: { type: 'column', name: 'b' }, right: { type: 'number', value: 2 } },
    })
    expect(parseFormula('(a + b) / -2').type).toBe('binary')
    expect(parseFormula('SUM(a) / COUNT(*)', { allowAggregates: true })).toMatchObject({ left: { type: 'aggregate', fn: 'SUM' }, right: { fn: 'COUNT', arg: { type: 'star' } } })
  })

  it.each([
    ['pg_sleep(10)', /function call 'pg_sleep\('/],
    ['a; drop table x', /';' at position 2/],
    ["a + 'x'", /''' at position 5/],
    ['(select 1)', /misses a '\)' at position 9/],
    ['public.fact_sessions', /'\.' at position 7/],
    ['1e9', /unexpected 'e'/],
    ['a +', /ends where/],
    ['(a', /misses a '\)'/],
    ['ａ', /U\+FF41 at position 1/],
    ['*', /only for COUNT/],
    ['', /is empty/],
  ])('refuses %j', (input, message) => {
    expect(() => parseFormula(input)).toThrow(FormulaError)
    expect(() => parseFormula(input)).toThrow(message)
  })

  it('reads -- as two minus signs, never as a comment', () => {
    expect(parseFormula('a -- b')).toEqual({ type: 'binary', op: '-', left: { type: 'column', name: 'a' }, right: { type: 'negate', operand: { type: 'column', name: 'b' } } })
  })

  it('refuses nesting deeper than the limit', () => {
    expect(() => parseFormula(`${'('.repeat(40)}a${')'.repeat(40)}`)).toThrow(/deeper/)
  })
})

describe('custom metric definitions', () => {
  it('compiles each metric type with columns as identifiers and numbers as parameters', () => {
    const compile = (extra: Record<string, unknown>) => metricQuery(db, parseDefinition({ ...base, ...extra }), COLUMNS, '2025-01-01', '2025-01-31').compile()
    const sum = compile({ calculationFormula: 'duration_seconds / 60', dimensions: ['tenant_id'], filters: { total_responses: { gt: 0 } } })
    expect(sum.sql).toBe(
      'select jsonb_build_object(cast($1 as text), "tenant_id") as "dimensions", sum((cast("duration_seconds" as numeric) / nullif(cast($2 as numeric), 0))) as "value" ' +
        'from "fact_sessions" where "date_key" >= $3 and "date_key" <= $4 and "total_responses" > $5 group by "tenant_id" order by "tenant_id"',
    )
    expect(sum.parameters).toEqual(['tenant_id', 60, 20250101, 20250131, 0])
    expect(compile({ metricType: 'COUNT', calculationFormula: '*' }).sql).toMatch(/select '\{\}'::jsonb as "dimensions", count\(\*\) as "value"/)
    expect(compile({ metricType: 'DISTINCT_COUNT', calculationFormula: 'learner_id' }).sql).toMatch(/count\(distinct "learner_id"\)/)
    expect(compile({ metricType: 'PERCENTILE', percentile: 0.9, calculationFormula: 'duration_seconds' }).sql).toMatch(/percentile_cont\(cast\(\$1 as double precision\)\) within group/)
    expect(compile({ metricType: 'RATIO', calculationFormula: 'SUM(correct_responses) / SUM(total_responses)' }).sql).toMatch(/\(cast\(sum\(cast\("correct_responses" as numeric\)\) as numeric\) \/ nullif\(/)
    expect(compile({ metricType: 'MIN', calculationFormula: 'activities_completed', filters: { tenant_id: { in: [1, 2] } } }).sql).toMatch(/"tenant_id" in \(\$\d+, \$\d+\)/)
  })

  it.each([
    ['a function call', { calculationFormula: 'pg_sleep(10)' }, /function call 'pg_sleep\('/],
    ['a sub-select', { calculationFormula: '(select max(duration_seconds) from fact_sessions)' }, /misses a '\)'/],
    ['a statement separator', { calculationFormula: 'duration_seconds; drop table daily_metrics' }, /';'/],
    ['a quote trick', { calculationFormula: `duration_seconds" from pg_user --` }, /'"'/],
    ['another schema', { calculationFormula: 'pg_catalog.pg_authid' }, /'\.'/],
    ['an unknown column', { calculationFormula: 'password' }, /'password' is not a column of fact_sessions/],
    ['a text column in arithmetic', { calculationFormula: 'started_at + 1' }, /'started_at' is timestamp with time zone, not a number/],
    ['an unknown type', { metricType: 'MEDIAN', calculationFormula: 'duration_seconds' }, /field 'metricType'/],
    ['an unknown source', { dataSource: 'pg_catalog.pg_authid', calculationFormula: 'duration_seconds' }, /field 'dataSource'/],
    ['an unknown key', { calculationFormula: 'duration_seconds', sql: 'select 1' }, /sql/],
    ['a hostile dimension', { calculationFormula: 'duration_seconds', dimensions: ['tenant_id"; drop'] }, /field 'dimensions.0'/],
    ['an unknown dimension', { calculationFormula: 'duration_seconds', dimensions: ['email'] }, /dimension 'email' is not a column/],
    ['a hostile filter column', { calculationFormula: 'duration_seconds', filters: { '1=1 or x': { eq: 1 } } }, /filters/],
    ['a filter with two operators', { calculationFormula: 'duration_seconds', filters: { tenant_id: { eq: 1, ne: 2 } } }, /exactly one/],
    ['a filter value of the wrong type', { calculationFormula: 'duration_seconds', filters: { tenant_id: { eq: "1' or '1'='1" } } }, /compares a bigint/],
    ['an object as filter value', { calculationFormula: 'duration_seconds', filters: { tenant_id: { eq: { $ne: 1 } } } }, /filters/],
    ['RATIO without two aggregates', { metricType: 'RATIO', calculationFormula: 'correct_responses / total_responses' }, /two aggregates/],
    ['an aggregate outside RATIO', { calculationFormula: 'SUM(duration_seconds)' }, /only RATIO takes aggregate calls/],
  ])('refuses %s with the reason', (_what, extra, message) => {
    expect(() => metricQuery(db, parseDefinition({ ...base, ...extra }), COLUMNS, '2025-01-01', '2025-01-31')).toThrow(message)
    expect(defineOrRefuse({ ...base, ...extra })).toBe('refused')
  })

  const hostile = fc.constantFrom(
    'duration_seconds', 'total_responses', 'correct_responses', 'tenant_id', 'started_at', '1', '2.5', '0', ' ', '+', '-', '*', '/', '(', ')',
    'SUM(', 'COUNT(*)', 'count(', 'pg_sleep(1)', ';', "'", '"', '`', 'select', 'from', 'union', 'public.fact_sessions',
    'pg_catalog.pg_user', '--', '/*', '*/', '$1', '::text', 'é', '\u0000', 'ＳＵＭ', '\u202e', '\\', 'E\'\\x27\'', 'drop table x', '%', ',',
  )

  it('never lets a random or hostile formula reach SQL outside the grammar (property)', () => {
    const formula = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.array(hostile, { minLength: 1, maxLength: 25 }).map((parts) => parts.join('')),
      fc.array(hostile, { minLength: 1, maxLength: 25 }).map((parts) => parts.join(' ')),
    )
    const metricType = fc.constantFrom('COUNT', 'SUM', 'AVERAGE', 'DISTINCT_COUNT', 'PERCENTILE', 'RATIO', 'MAX', 'MIN', 'DROP', '')
    let accepted = 0
    fc.assert(
      fc.property(formula, metricType, (calculationFormula, type) => {
        const json = { ...base, metricType: type, calculationFormula, ...(type === 'PERCENTILE' ? { percentile: 0.5 } : {}) }
        if (defineOrRefuse(json) === 'accepted') accepted++
      }),
      { numRuns: 3000 },
    )
    expect(accepted).toBeGreaterThan(0) // the generator does reach valid formulas too
  })

  it('never lets hostile dimensions, filters or whole objects reach SQL (property)', () => {
    const name = fc.oneof(fc.constantFrom(...COLUMNS.keys()), fc.string({ maxLength: 20 }), hostile)
    const value = fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 20 }), fc.boolean(), fc.constant(null), fc.object())
    const definition = fc.record({
      name: fc.oneof(fc.constant('m'), fc.string({ maxLength: 10 })),
      metricType: fc.constantFrom('COUNT', 'SUM', 'DISTINCT_COUNT', 'MAX'),
      dataSource: fc.oneof(fc.constant('fact_sessions'), fc.string({ maxLength: 20 })),
      calculationFormula: fc.oneof(fc.constantFrom('duration_seconds', '*', 'duration_seconds * 2'), fc.string({ maxLength: 20 })),
      visibility: fc.constantFrom('TEAM', 'PUBLIC', 'nobody'),
      dimensions: fc.array(name, { maxLength: 3 }),
      filters: fc.dictionary(name, fc.dictionary(fc.constantFrom('eq', 'ne', 'gt', 'in', 'like', 'or'), fc.oneof(value, fc.array(value, { maxLength: 3 })), { maxKeys: 2 }), { maxKeys: 3 }),
    })
    fc.assert(fc.property(fc.oneof(definition, fc.anything()), (json) => void defineOrRefuse(json)), { numRuns: 3000 })
  })
})

describe('cost classes', () => {
  it('classes EXPLAIN total cost as low, medium, high', () => {
    expect([costClass(0), costClass(9_999), costClass(10_000), costClass(999_999), costClass(1_000_000)]).toEqual(['low', 'low', 'medium', 'medium', 'high'])
  })
})
