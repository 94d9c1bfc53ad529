import { DateTime } from 'luxon'
import { sql, type Kysely, type RawBuilder } from 'kysely'
import type { Session } from '../db/database.js'
import type { SourceColumn } from '../io/describe.js'
import { ident } from '../io/identifiers.js'
import type { Interval } from '../kinds/table-sync/definition.js'
import { castType } from '../kinds/table-sync/watermark.js'

/**
 * Native range partitions of a time-partitioned sync target, the stand-in for a TimescaleDB
 * hypertable where the extension is not installed. Chunk boundaries are UTC midnights aligned
 * on a fixed origin (Monday 1970-01-05 for day-based chunks, January 1970 for month-based ones),
 * so every run computes the same chunks and weekly chunks start on Mondays.
 */
// a named locale: at import, luxon would otherwise ask Intl for the system's (loading ICU) in every command
const DAY_ORIGIN = DateTime.fromISO('1970-01-05', { zone: 'UTC', locale: 'en-US' })

/** At most this many partitions per run: a stray year-0001 value must not create thousands of tables. */
const MAX_NEW_PARTITIONS = 2000

export interface Chunk {
  /** First day of the chunk, YYYY-MM-DD (UTC). */
  readonly from: string
  /** First day after it. */
  readonly to: string
}

export function chunkOf(day: string, chunk: Interval): Chunk {
  const d = DateTime.fromISO(day, { zone: 'UTC' })
  if (chunk.unit === 'day') {
    const index = Math.floor(d.diff(DAY_ORIGIN, 'days').days / chunk.n)
    const from = DAY_ORIGIN.plus({ days: index * chunk.n })
    return { from: from.toISODate()!, to: from.plus({ days: chunk.n }).toISODate()! }
  }
  const months = (d.year - 1970) * 12 + (d.month - 1)
  const start = Math.floor(months / chunk.n) * chunk.n
  const from = DateTime.fromObject({ year: 1970 + Math.floor(start / 12), month: (((start % 12) + 12) % 12) + 1, day: 1 }, { zone: 'UTC' })
  return { from: from.toISODate()!, to: from.plus({ months: chunk.n }).toISODate()! }
}

/** Every chunk from the one holding `first` to the one holding `last`, both included. */
export function chunksBetween(first: string, last: string, chunk: Interval): Chunk[] {
  const chunks: Chunk[] = []
  let current = chunkOf(first, chunk)
  const end = chunkOf(last, chunk).from
  while (current.from <= end) {
    chunks.push(current)
    if (chunks.length > MAX_NEW_PARTITIONS) {
      throw new Error(`the rows span more than ${MAX_NEW_PARTITIONS} partitions (${first} to ${last}); use a larger timePartition.chunk`)
    }
    current = chunkOf(current.to, chunk)
  }
  return chunks
}

export function partitionName(table: string, chunk: Chunk): string {
  return `${table.slice(0, 50)}_p${chunk.from.replaceAll('-', '')}`
}

/** A boundary as a literal of the partition column's type: midnight UTC. */
function bound(day: string, type: string): string {
  if (type === 'date') return `'${day}'`
  if (type.startsWith('timestamp with time zone')) return `'${day} 00:00:00+00'`
  return `'${day} 00:00:00'`
}

/**
 * The UTC days (YYYY-MM-DD) a date or timestamp column's values fall on in `from` (a relation
 * or subquery aliased `q`), whatever the session's time zone: the chunks the rows need.
 */
export async function distinctDays(db: Kysely<any>, from: string, column: SourceColumn): Promise<string[]> {
  const value = `q.${ident(column.name)}`
  const day = column.type === 'date' ? value : column.type.startsWith('timestamp with time zone') ? `(${value} at time zone 'UTC')::date` : `${value}::date`
  const { rows } = await sql<{ day: string }>`
    select distinct ${sql.raw(day)}::text as day from ${sql.raw(from)} where ${sql.raw(value)} is not null`.execute(db)
  return rows.map((r) => r.day)
}

/** The partitions a table has now. */
export async function existingPartitions(db: Kysely<any>, table: string): Promise<Set<string>> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = ${table}::regclass`.execute(db)
  return new Set(rows.map((r) => r.name))
}

/**
 * Creates the chunks that are missing. `runner` is a connection outside the run's transaction
 * on a server (CREATE … PARTITION OF locks the parent; holding that for a whole sync would block
 * the dashboards reading it), the run's own session on PGlite.
 */
export async function createPartitions(
  runner: Pick<Session, 'exec'>,
  db: Kysely<any>,
  table: string,
  columnType: string,
  chunks: readonly Chunk[],
): Promise<string[]> {
  castType(columnType)
  const existing = await existingPartitions(db, table)
  const missing = chunks.filter((c) => !existing.has(partitionName(table, c)))
  if (missing.length > MAX_NEW_PARTITIONS) {
    throw new Error(`the rows need ${missing.length} new partitions of ${table} (more than ${MAX_NEW_PARTITIONS}); use a larger timePartition.chunk`)
  }
  const created: string[] = []
  for (const chunk of missing) {
    const name = partitionName(table, chunk)
    try {
      await runner.exec(
        `create table if not exists ${ident(name)} partition of ${ident(table)} for values from (${bound(chunk.from, columnType)}) to (${bound(chunk.to, columnType)})`,
      )
      created.push(name)
    } catch (error) {
      // two runs racing to create the same partition: the loser finds it there
      if ((error as { code?: string }).code !== '42P07') throw error
    }
  }
  return created
}

export interface ExpiredPartition {
  readonly name: string
  /** Upper bound of the partition: every row in it is older than this. */
  readonly upper: string
}

/** format_type of a table's column: the type a retention cut-off must have. */
export async function columnType(db: Kysely<any>, table: string, column: string): Promise<string> {
  const { rows } = await sql<{ type: string }>`
    select format_type(atttypid, atttypmod) as type from pg_attribute
    where attrelid = ${table}::regclass and attname = ${column} and attnum > 0 and not attisdropped`.execute(db)
  if (!rows[0]) throw new Error(`${table} has no column ${column}`)
  return castType(rows[0].type)
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

/**
 * Partitions whose every row is past retention: upper bound at or before the cut-off (of the
 * column's type). The bound comes from the catalog (`FOR VALUES FROM (…) TO (…)`), so partitions
 * made by hand count too.
 */
export async function expiredPartitions(db: Kysely<any>, table: string, type: string, cutoff: RawBuilder<unknown>): Promise<ExpiredPartition[]> {
  const { rows } = await sql<ExpiredPartition>`
    select name, upper from (
      select c.oid::regclass::text as name,
             substring(pg_get_expr(c.relpartbound, c.oid) from 'TO [(]''([^'']+)''[)]') as upper
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = ${table}::regclass
    ) p
    where upper is not null and upper::${sql.raw(castType(type))} <= ${cutoff}
    order by upper`.execute(db)
  return rows
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
