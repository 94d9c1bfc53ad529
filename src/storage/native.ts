import { sql, type Kysely, type RawBuilder } from 'kysely'
import { ident } from '../io/identifiers.js'
import { countRows, safeType, type Dropped, type StorageBackend } from './backend.js'
import { chunkOf, MAX_NEW_PARTITIONS, parseGrain } from './grain.js'

/**
 * Native range partitions: made by nightshift_ensure_partitions (migration 0009, the one naming
 * and alignment rule), listed from the catalog by their bounds (`FOR VALUES FROM (…) TO (…)`),
 * so partitions made by hand or by earlier releases count too.
 */
export const native: StorageBackend = {
  mode: 'native',

  async ensure(runner, table, grain, days) {
    const wanted = [...new Set(days)].sort()
    if (wanted.length === 0) return []
    const parsed = parseGrain(grain)
    const chunks = new Set(wanted.map((d) => chunkOf(d, parsed).from))
    if (chunks.size > MAX_NEW_PARTITIONS) {
      throw new Error(`the rows need ${chunks.size} partitions of ${table} (more than ${MAX_NEW_PARTITIONS}); use a larger grain`)
    }
    const { rows } = await sql<{ name: string }>`
      select p as name from nightshift_ensure_partitions(${table}::regclass, ${grain}, ${`{${[...chunks].join(',')}}`}::date[]) p`.execute(runner.db)
    return rows.map((r) => r.name)
  },

  async expired(db, table, _column, type, cutoff) {
    const names = await expiredPartitions(db, table, type, cutoff)
    return { names, rows: await countRows(db, names) }
  },

  async drop(db, table, column, type, cutoff) {
    const { names, rows } = await this.expired(db, table, column, type, cutoff)
    const fromDefault = await deleteFromDefault(db, table, column, cutoff)
    if (names.length) await sql.raw(`drop table ${names.join(', ')}`).execute(db)
    return { partitions: names.length, rows: rows + fromDefault } satisfies Dropped
  },
}

/**
 * Partitions whose every row is past retention: upper bound at or before the cut-off (of the
 * column's type). Bounds of an integer date_key print without quotes.
 */
async function expiredPartitions(db: Kysely<any>, table: string, type: string, cutoff: RawBuilder<unknown>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select name from (
      select c.oid::regclass::text as name,
             substring(pg_get_expr(c.relpartbound, c.oid) from 'TO [(]''?([^'')]+)''?[)]') as upper
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = ${table}::regclass
    ) p
    where upper is not null and upper <> 'MAXVALUE' and upper::${sql.raw(safeType(type))} <= ${cutoff}
    order by upper::${sql.raw(safeType(type))}`.execute(db)
  return rows.map((r) => r.name)
}

/** A default partition (the price bars have one) loses its rows past the cut-off; they are counted. */
async function deleteFromDefault(db: Kysely<any>, table: string, column: string, cutoff: RawBuilder<unknown>): Promise<number> {
  const { rows } = await sql<{ name: string }>`
    select d.oid::regclass::text as name from pg_partitioned_table pt join pg_class d on d.oid = pt.partdefid
    where pt.partrelid = ${table}::regclass`.execute(db)
  if (!rows[0]) return 0
  const result = await sql`delete from ${sql.raw(rows[0].name)} where ${sql.raw(ident(column))} < ${cutoff}`.execute(db)
  return Number(result.numAffectedRows ?? 0)
}
