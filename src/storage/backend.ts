import { sql, type Kysely, type RawBuilder } from 'kysely'

/** How a table is time-partitioned: native range partitions, or a TimescaleDB hypertable's chunks. */
export type StorageMode = 'native' | 'timescaledb'

/**
 * Where partitions are made: the warehouse's pool on a server, each statement committed at once
 * (CREATE … PARTITION OF locks the parent; holding that for a whole run would block the
 * dashboards reading it and serialise concurrent backfill days), the run's own transaction on
 * PGlite, whose single connection that transaction holds.
 */
export interface DdlRunner {
  readonly db: Kysely<any>
}

/** The DdlRunner of a run. */
export function ddlRunnerOf(ctx: { readonly db: Kysely<any>; readonly warehouse: { readonly concurrent: boolean; readonly db: Kysely<any> } }): DdlRunner {
  return { db: ctx.warehouse.concurrent ? ctx.warehouse.db : ctx.db }
}

export interface Dropped {
  /** Partitions or chunks dropped. */
  readonly partitions: number
  /** The rows they held (and, native, the rows deleted from a default partition), counted in the same transaction. */
  readonly rows: number
}

/** What retention removes at a cut-off, before it does. */
export interface Expired {
  /** Partitions or chunks, as regclass prints them. */
  readonly names: readonly string[]
  readonly rows: number
}

/**
 * The one interface of the two storage modes (src/storage/native.ts, src/storage/timescale.ts).
 *
 * @example
 * const backend = backendOf(policy.mode)
 * await backend.ensure(runner, 'fact_sessions', parseGrain('1 day'), ['2025-03-19'])
 * const { partitions, rows } = await backend.drop(trx, 'fact_sessions', 'date_key', 'integer', cutoff)
 */
export interface StorageBackend {
  readonly mode: StorageMode
  /** Makes the partitions that rows on `days` (YYYY-MM-DD, UTC) need; returns their names. */
  ensure(runner: DdlRunner, table: string, grain: string, days: readonly string[]): Promise<string[]>
  /** The partitions or chunks wholly before `cutoff` (a value of the time column's type) and their rows. */
  expired(db: Kysely<any>, table: string, column: string, type: string, cutoff: RawBuilder<unknown>): Promise<Expired>
  /** Drops them, counting their rows first in the same transaction; whole partitions, never a DELETE (but a default partition's). */
  drop(db: Kysely<any>, table: string, column: string, type: string, cutoff: RawBuilder<unknown>): Promise<Dropped>
}

/** format_type output we are willing to splice into SQL as a cast. */
export function safeType(type: string): string {
  if (!/^[a-z][a-z0-9 _,()[\]]*$/.test(type)) throw new Error(`unexpected column type ${JSON.stringify(type)}`)
  return type
}

/** format_type of a table's column: the type a retention cut-off must have. */
export async function columnType(db: Kysely<any>, table: string, column: string): Promise<string> {
  const { rows } = await sql<{ type: string }>`
    select format_type(atttypid, atttypmod) as type from pg_attribute
    where attrelid = ${table}::regclass and attname = ${column} and attnum > 0 and not attisdropped`.execute(db)
  if (!rows[0]) throw new Error(`${table} has no column ${column}`)
  return safeType(rows[0].type)
}

/**
 * `now − retention` as a value of the time column's own type, the day or time in UTC:
 * TimescaleDB's drop_chunks and show_chunks refuse a cut-off of another type ("invalid time
 * argument type"), and a date column's cut-off is the UTC day of that instant (rounded down, so a
 * chunk is dropped only once every row in it is past retention).
 */
export function cutoffOf(type: string, now: Date, retention: string): RawBuilder<unknown> {
  // subtracted from UTC wall-clock time: `timestamptz − interval` counts days in the session's
  // zone, which makes '28 days' an hour more or less across a daylight-saving change
  const utc = sql`((${now}::timestamptz at time zone 'UTC') - ${retention}::interval)`
  if (type === 'date') return sql`(${utc}::date)`
  if (type.startsWith('timestamp with time zone')) return sql`(${utc} at time zone 'UTC')`
  if (type.startsWith('timestamp')) return utc
  throw new Error(`a retention cut-off needs a date or timestamp column; this one is ${type}`)
}

/** The cut-off of a policy's time column: a fact table's integer `date_key` is the YYYYMMDD of the UTC day. */
export function policyCutoff(column: string, type: string, now: Date, retention: string): RawBuilder<unknown> {
  if (column === 'date_key' && (type === 'integer' || type === 'bigint')) {
    return sql`(to_char(((${now}::timestamptz at time zone 'UTC') - ${retention}::interval), 'YYYYMMDD')::${sql.raw(type)})`
  }
  return cutoffOf(type, now, retention)
}

/** A relation name as regclass prints it (quoted where it needs quotes), safe to splice into SQL. */
const REGCLASS_TEXT = /^("([^"]|"")+"|[a-z_][a-z0-9_$]*)(\.("([^"]|"")+"|[a-z_][a-z0-9_$]*))?$/

/** The rows of several tables (partitions, chunks), in one statement. */
export async function countRows(db: Kysely<any>, relations: readonly string[]): Promise<number> {
  if (relations.length === 0) return 0
  for (const r of relations) if (!REGCLASS_TEXT.test(r)) throw new Error(`not a relation name: ${JSON.stringify(r)}`)
  const { rows } = await sql<{ n: string }>`
    select (${sql.raw(relations.map((r) => `(select count(*) from ${r})`).join(' + '))})::text as n`.execute(db)
  return Number(rows[0]!.n)
}

/** Whether TimescaleDB is installed in the warehouse: hypertables then replace native partitions. */
export async function hasTimescale(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`select exists (select 1 from pg_extension where extname = 'timescaledb') as found`.execute(db)
  return rows[0]!.found
}
