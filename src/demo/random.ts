import { sql, type RawBuilder } from 'kysely'

type Expr = RawBuilder<unknown>

/** A float8 in [0, 1) that depends only on what names it, never on row order or the clock. */
export type Random = (field: string) => RawBuilder<number>

/**
 * Pseudo-random values for the rows of one table, each derived from md5(seed, table, key,
 * field). A hash rather than random()/setseed() keeps a value the same however PostgreSQL
 * orders, parallelises or re-plans the statement, and md5 is the same on every platform.
 *
 * @example
 * const r = randomFor(42, 'learners', sql`g`)
 * sql`select ${intBetween(r('grade'), 1, 12)} from generate_series(1, 300) g`
 */
export function randomFor(seed: number, table: string, key: Expr): Random {
  return (field) => quarterOf(hashOf(seed, table, sql`${key} || ${sql.lit(`:${field}`)}`), 0)
}

/**
 * md5(seed, table, key): 32 hex digits, four independent draws for `quarterOf`. For the
 * statement that makes millions of rows, where hashing is most of the work: one hash per row
 * instead of one per field.
 */
export function hashOf(seed: number, table: string, key: Expr): RawBuilder<string> {
  return sql<string>`md5(${sql.lit(`${seed}:${table}:`)} || ${key})`
}

/** Quarter `q` (0–3) of an md5 in hex, as a float8 in [0, 1). */
export function quarterOf(hash: Expr, q: 0 | 1 | 2 | 3): RawBuilder<number> {
  return sql<number>`(('x' || substr(${hash}, ${sql.lit(1 + 8 * q)}, 8))::bit(32)::bigint::float8 / 4294967296)`
}

/** An integer in [low, high], each as likely. */
export function intBetween(r: RawBuilder<number>, low: number, high: number): RawBuilder<number> {
  return sql<number>`(${sql.lit(low)} + floor(${r} * ${sql.lit(high - low + 1)}))::int`
}

/** One of the values, each as likely. */
export function pickFrom(r: RawBuilder<number>, values: readonly string[]): RawBuilder<string> {
  return sql<string>`${textArray(values)}[1 + floor(${r} * ${sql.lit(values.length)})::int]`
}

/** The names in turn (no randomness), numbered once they run out: 'Summit Tutors', …, 'Summit Tutors 2'. */
export function nameInTurn(names: readonly string[], g: RawBuilder<unknown>): RawBuilder<string> {
  const n = sql.lit(names.length)
  return sql<string>`${textArray(names)}[1 + (${g} - 1) % ${n}] || case when ${g} > ${n} then ' ' || ((${g} - 1) / ${n} + 1) else '' end`
}

/** Constants of our own, inlined as a literal so the statement needs no array parameter. */
function textArray(values: readonly string[]): RawBuilder<string[]> {
  return sql<string[]>`(array[${sql.join(values.map((v) => sql.lit(v)))}]::text[])`
}

/**
 * `n` seconds as an interval. Only seconds, never days: adding a day to a timestamptz depends on
 * the session's TimeZone, and the rows must not.
 */
export function seconds(n: Expr | number): RawBuilder<unknown> {
  return sql`((${typeof n === 'number' ? sql.lit(n) : n}) * interval '1 second')`
}

/** `floor(r × span)` whole seconds: a random offset into a span of that many seconds. */
export function secondsWithin(r: RawBuilder<number>, span: Expr | number): RawBuilder<unknown> {
  return seconds(sql`floor(${r} * ${typeof span === 'number' ? sql.lit(span) : span})`)
}

/**
 * Ends a subquery whose columns are used more than once above it. Without it PostgreSQL inlines
 * the subquery and copies each md5-derived expression into every place that uses it, hashing
 * the same value several times per row.
 */
export const computeOnce: RawBuilder<unknown> = sql`offset 0`
