import { sql, type Kysely } from 'kysely'
import type { Session } from '../db/database.js'
import type { Logger } from '../log.js'
import type { SourceColumn } from './describe.js'
import { ident } from './identifiers.js'

/** PGlite reports no type modifiers for a query's columns, so `numeric` matches `numeric(5,2)`. */
export function sameType(a: string, b: string): boolean {
  return a === b || a.replace(/\(.*\)$/, '') === b.replace(/\(.*\)$/, '')
}

/** An existing table's columns in order, with their types as `format_type` writes them and their type's OID. */
export async function tableColumns(db: Kysely<any>, table: string): Promise<Array<SourceColumn & { typeOid: number }>> {
  // float8: an OID is an unsigned 32-bit number, past int4's range
  const { rows } = await sql<SourceColumn & { typeOid: number }>`
    select attname as name, format_type(atttypid, atttypmod) as type, atttypid::int8::float8 as "typeOid" from pg_attribute
    where attrelid = ${table}::regclass and attnum > 0 and not attisdropped order by attnum`.execute(db)
  return rows
}

/**
 * Makes an existing table fit its source's columns: a column the source gained since is added
 * (through `ddl`); a retyped one is an error that names it, never a silent loss, and so is one
 * the source no longer has, unless the table keeps such columns (`fix.dropped` undefined: a
 * dimension's history, with columns of its own). `fix` ends each error with what to do.
 *
 * @example
 * await fitColumns({ db, ddl: session, table: 'orders_copy', columns, log, fix: { retyped: 'alter orders_copy to match, then run again' } })
 */
export async function fitColumns(options: {
  db: Kysely<any>
  ddl: Pick<Session, 'exec'>
  table: string
  columns: readonly SourceColumn[]
  log: Logger
  fix: { readonly retyped: string; readonly dropped?: string }
}): Promise<void> {
  const { db, ddl, table, columns, log, fix } = options
  const rows = await tableColumns(db, table)
  const existing = new Map(rows.map((r) => [r.name, r.type]))
  const sourceNames = new Set(columns.map((c) => c.name))
  const dropped = rows.filter((r) => !sourceNames.has(r.name))
  if (fix.dropped !== undefined && dropped.length) {
    throw new Error(`the source no longer has column ${dropped.map((r) => r.name).join(', ')} that ${table} has; ${fix.dropped}`)
  }
  const retyped = columns.filter((c) => existing.has(c.name) && !sameType(existing.get(c.name)!, c.type))
  if (retyped.length) {
    throw new Error(`source column ${retyped.map((c) => `${c.name} is now ${c.type} (${table} has ${existing.get(c.name)})`).join(', ')}; ${fix.retyped}`)
  }
  const added = columns.filter((c) => !existing.has(c.name))
  for (const c of added) await ddl.exec(`alter table ${ident(table)} add column if not exists ${ident(c.name)} ${c.type}`)
  if (added.length) log.info({ added: added.map((c) => c.name) }, `added source columns to ${table}`)
}
