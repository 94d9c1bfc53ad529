import { CompiledQuery, sql, type Kysely } from 'kysely'
import type { SourceColumn } from '../../io/describe.js'
import { ident } from '../../io/identifiers.js'
import { atOrAfter, type Since } from './source.js'

/** Types without an equality operator: compared as text to tell whether a row changed. */
const NO_EQUALITY = /^(json|xml|point|line|lseg|box|path|polygon|circle)\b/

/**
 * One set-based `INSERT … SELECT … ON CONFLICT (primary key) DO UPDATE` from staging into the
 * target. A key staged twice keeps its newest row (the others are deleted from staging first, so
 * staging can become the next run's window); a row equal to its row in `window` (what the last
 * run left in the target) is not sent at all, and a row equal to the target's is not rewritten,
 * so reading a lookback window again costs reads, not writes.
 *
 * @example
 * await upsertFromStaging(trx, { target: 'orders', staging: '"staging"."sync_orders"', columns, primaryKey: ['id'], newestFirst: 'updated_at', window: null })
 */
export async function upsertFromStaging(
  db: Kysely<any>,
  options: {
    target: string
    staging: string
    columns: readonly SourceColumn[]
    primaryKey: readonly string[]
    newestFirst: string
    /** `"schema"."table"` of the last run's window, or null to compare every row with the target. */
    window: string | null
    /** What this run read from: window rows below it cannot equal a staged row, and stay out of the hash. */
    since?: Since | null
    /** The target was just created or truncated: every row is an insert. */
    targetEmpty?: boolean
    /** The source allows one row per key: staging needs no check for duplicates. */
    uniqueKeys?: boolean
  },
): Promise<{ inserted: number; updated: number }> {
  const { target, staging, columns, primaryKey, newestFirst, window } = options
  const t = ident(target)
  const cols = columns.map((c) => ident(c.name))
  const pk = primaryKey.map(ident)
  const rest = columns.filter((c) => !primaryKey.includes(c.name))
  const value = (alias: string, c: SourceColumn) => `${alias}.${ident(c.name)}${NO_EQUALITY.test(c.type) ? '::text' : ''}`
  // `(…, null)`: a row constructor even when there is one column to compare
  const same = (a: string, b: string) => `(${rest.map((c) => value(a, c)).join(', ')}, null) is not distinct from (${rest.map((c) => value(b, c)).join(', ')}, null)`
  const keyOf = (a: string, b: string) => pk.map((k) => `${a}.${k} = ${b}.${k}`).join(' and ')

  if (!options.uniqueKeys) await dropOlderDuplicates(db, staging, pk, ident(newestFirst))

  // a staged row equals its window row only if their incremental values are equal, so window rows
  // older than what this run read (the lookback before last) need not be hashed at all: the same
  // condition as the PostgreSQL source's extract
  const recent = options.since ? ` and ${atOrAfter('w', options.since)}` : ''
  const unchanged = window ? ` where not exists (select 1 from ${window} w where ${keyOf('w', 's')}${recent}${rest.length ? ` and ${same('w', 's')}` : ''})` : ''
  const sent = `select ${cols.map((c) => `s.${c}`).join(', ')} from ${staging} s${unchanged}`
  // in key order: neighbouring probes of the target's primary key share its pages
  const rows = `${sent} order by ${pk.map((k) => `s.${k}`).join(', ')}`
  const onConflict = rest.length
    ? `do update set ${rest.map((c) => `${ident(c.name)} = excluded.${ident(c.name)}`).join(', ')} where not ${same(t, 'excluded')}`
    : 'do nothing'
  const upsert = `insert into ${t} (${cols.join(', ')}) ${rows} on conflict (${pk.join(', ')}) ${onConflict}`
  // The server's own counters of this transaction's writes to the target (and its partitions)
  // tell inserts from updates, read before and after the statement: no second pass over the rows,
  // and no RETURNING, whose rows PostgreSQL stores and reads again only to be counted (`xmax = 0`
  // cannot tell them apart on a partitioned table anyway, and PostgreSQL 18 refuses it there)
  const before = await insertedSoFar(db, target)
  if (before.counting) {
    const result = await db.executeQuery(CompiledQuery.raw(upsert))
    const inserted = (await insertedSoFar(db, target)).inserted - before.inserted
    return { inserted, updated: Number(result.numAffectedRows ?? 0) - inserted }
  }
  // track_counts off: no counters, so the keys that exist already are counted first
  const exists = options.targetEmpty ? 'false' : `exists (select 1 from ${t} t where ${keyOf('t', 's')})`
  const { rows: counted } = await db.executeQuery<{ sent: number; existing: number }>(
    CompiledQuery.raw(`select count(*)::int as sent, (count(*) filter (where ${exists}))::int as existing from (${sent}) s`),
  )
  const result = await db.executeQuery(CompiledQuery.raw(upsert))
  const written = Number(result.numAffectedRows ?? 0)
  const inserted = counted[0]!.sent - counted[0]!.existing
  return { inserted, updated: written - inserted }
}

/**
 * Rows inserted so far in this transaction into `table` and every table under it (partitions,
 * their partitions, a hypertable's chunks), from the statistics counters the server keeps for
 * the transaction (`pg_stat_get_xact_tuples_inserted`, counted only while `track_counts` is on).
 */
async function insertedSoFar(db: Kysely<any>, table: string): Promise<{ inserted: number; counting: boolean }> {
  const { rows } = await sql<{ inserted: string; counting: boolean }>`
    with recursive tree (oid) as (
      select ${table}::regclass::oid
      union all
      select i.inhrelid from pg_inherits i join tree on i.inhparent = tree.oid)
    select coalesce(sum(pg_stat_get_xact_tuples_inserted(oid)), 0)::text as inserted, current_setting('track_counts')::bool as counting
    from tree`.execute(db)
  return { inserted: Number(rows[0]!.inserted), counting: rows[0]!.counting }
}

/**
 * Leaves one row per key in staging, its newest by `newestFirst`. Where there are no duplicates
 * (a query over a table with a primary key) this is one hash aggregate and no write.
 */
async function dropOlderDuplicates(db: Kysely<any>, staging: string, pk: readonly string[], newestFirst: string): Promise<void> {
  const keys = pk.join(', ')
  const { rows } = await db.executeQuery<{ found: boolean }>(
    CompiledQuery.raw(`select exists (select 1 from ${staging} group by ${keys} having count(*) > 1) as found`),
  )
  if (!rows[0]!.found) return
  await db.executeQuery(
    CompiledQuery.raw(
      `delete from ${staging} where ctid = any (array(
         select ctid from (select ctid, row_number() over (partition by ${keys} order by ${newestFirst} desc) as n from ${staging}) d where n > 1))`,
    ),
  )
}
