import { createHash } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import { ident, literal } from '../../io/identifiers.js'
import { isHypertable } from './target.js'

/**
 * The window a table sync keeps between incremental runs: the rows its last run read (newest per
 * key), which are, once it committed, exactly what the target holds for those keys. The next run
 * reads most of them again (the lookback); a row read again that equals its window row is already
 * in the target as it is, so it is dropped by a hash anti-join against this small table instead
 * of costing a probe, a row lock and a page write in the large target.
 *
 * It is the run's staging table, renamed: UNLOGGED, replaced in the run's transaction, so it
 * commits with the target's rows and the watermark. A server crash empties it and a missing one
 * is ignored; either way the run compares every row with the target, as a first run does.
 *
 * It is trusted only against the table it was written for: its comment records the target's
 * storage (oid and relfilenode of the table and its partitions, which a DROP, TRUNCATE, VACUUM
 * FULL or a dropped partition changes), and its columns must be the run's. A row changed in the
 * target by hand is therefore put right only when the source row changes, on --full-refresh, or
 * after `etl watermarks set` (which drops the window).
 */
export interface WindowTable {
  /** `"schema"."name"`, quoted: the name holds a `$`, which no job or staging table name can. */
  readonly sql: string
  /** The bare name, for `ALTER TABLE … RENAME TO`. */
  readonly name: string
}

export function windowTable(stagingSchema: string, jobName: string): WindowTable {
  // a job name is at most 63 characters, as an identifier is: a long one is shortened with a hash
  const base = jobName.length <= 56 ? jobName : `${jobName.slice(0, 47)}_${createHash('md5').update(jobName).digest('hex').slice(0, 8)}`
  const name = `${base}$window`
  return { sql: `${ident(stagingSchema)}."${name}"`, name }
}

/** What the window's comment must say for it to describe `target` as it is now. */
async function storageOf(db: Kysely<any>, target: string): Promise<string> {
  // pg_partition_tree lists a partitioned table and its partitions, and nothing for a plain table
  // or a hypertable, whose chunks (inheritance children) only show_chunks lists
  const parts = (await isHypertable(db, target))
    ? sql`select c::oid from show_chunks(${target}::regclass) c`
    : sql`select relid from pg_partition_tree(${target}::regclass)`
  const { rows } = await sql<{ storage: string }>`
    select ${target}::text || ' ' || string_agg(c.oid::text || '/' || c.relfilenode::text, ',' order by c.oid) as storage
    from pg_class c
    where c.oid = ${target}::regclass or c.oid in (${parts})`.execute(db)
  return rows[0]!.storage
}

/** The window, when there is one that describes `target` now and has the columns of `staging`; else null. */
export async function openWindow(db: Kysely<any>, window: WindowTable, target: string, staging: string): Promise<WindowTable | null> {
  // both tables are made from the columns a run describes: the catalog writes their types alike
  const { rows } = await sql<{ comment: string | null; same: boolean }>`
    with cols as (
      select attrelid, string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' order by attnum) as list
      from pg_attribute where attnum > 0 and not attisdropped and attrelid in (to_regclass(${window.sql}), ${staging}::regclass)
      group by attrelid)
    select obj_description(w.attrelid, 'pg_class') as comment, w.list = s.list as same
    from cols w, cols s where w.attrelid = to_regclass(${window.sql}) and s.attrelid = ${staging}::regclass`.execute(db)
  const found = rows[0]
  if (!found?.same || found.comment === null) return null
  return found.comment === (await storageOf(db, target)) ? window : null
}

/**
 * Makes this run's staging table the next run's window. Rows the next run will not read again
 * stay in it: trimming them would cost a pass over the window now, and the next run scans it
 * anyway, hashing only the rows at or after its own lower bound (src/kinds/table-sync/upsert.ts).
 */
export async function keepWindow(db: Kysely<any>, options: { staging: string; window: WindowTable; target: string }): Promise<void> {
  const { staging, window, target } = options
  await dropWindow(db, window)
  await sql`alter table ${sql.raw(staging)} rename to ${sql.raw(`"${window.name}"`)}`.execute(db)
  // COMMENT takes no bind parameters
  await sql`comment on table ${sql.raw(window.sql)} is ${sql.raw(literal(await storageOf(db, target)))}`.execute(db)
}

/** A run that leaves no window (a first load, a full refresh) drops the one before it. */
export async function dropWindow(db: Kysely<any>, window: WindowTable): Promise<void> {
  await sql`drop table if exists ${sql.raw(window.sql)}`.execute(db)
}
