import { sql } from 'kysely'
import type { Database } from '../db/database.js'
import { qualified } from './identifiers.js'

export interface SourceColumn {
  readonly name: string
  /** As `format_type` writes it: `bigint`, `numeric(5,2)`, `timestamp with time zone`. */
  readonly type: string
}

/** Columns of a table, with exact types from the catalog. */
export async function describeTable(db: Database, table: string): Promise<SourceColumn[]> {
  const { rows } = await sql<SourceColumn>`
    select attname as name, format_type(atttypid, atttypmod) as type
    from pg_attribute
    where attrelid = ${qualified(table)}::regclass and attnum > 0 and not attisdropped
    order by attnum`.execute(db.db)
  if (rows.length === 0) throw new Error(`source table ${table} has no columns`)
  return rows
}

/**
 * Columns of a query's result, by running it with `limit 0`. PGlite reports no type modifiers,
 * so there `numeric(5,2)` comes back as `numeric`, which holds the same values.
 */
export async function describeQuery(db: Database, query: string): Promise<SourceColumn[]> {
  const fields = await db.fields(`select * from (${query}) as q limit 0`)
  const { rows } = await sql<{ type: string }>`
    select format_type(f.oid, f.typmod) as type
    from unnest(${fields.map((f) => f.typeOid)}::oid[], ${fields.map((f) => f.typmod)}::int[]) with ordinality as f(oid, typmod, n)
    order by f.n`.execute(db.db)
  return fields.map((f, i) => ({ name: f.name, type: rows[i]!.type }))
}

export function describeSource(db: Database, source: { table: string } | { query: string }): Promise<SourceColumn[]> {
  return 'table' in source ? describeTable(db, source.table) : describeQuery(db, source.query)
}
