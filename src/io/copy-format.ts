import type { Kysely } from 'kysely'
import type { Database } from '../db/database.js'
import type { SourceColumn } from './describe.js'
import { tableColumns } from './fit-table.js'

/**
 * How rows travel from a source COPY into the warehouse. `binary` skips turning every value into
 * text and parsing it back (about half the time of `text` for timestamps and numerics), but a
 * binary value is only readable as the very type it was written from: no conversion happens.
 *
 * @example
 * const format = (await binaryReadable(source, query, columns.length)) ? 'binary' : 'text'
 * await warehouse.copyIn(`copy t (a, b) from stdin${copyOptions(format)}`, await source.copyOut(`copy (${query}) to stdout${copyOptions(format)}`))
 */
export type CopyFormat = 'text' | 'binary'

/** ` (format binary)` or nothing: what follows `to stdout` / `from stdin`. */
export const copyOptions = (format: CopyFormat): string => (format === 'binary' ? ' (format binary)' : '')

// OIDs below FirstNormalObjectId are the built-in types, the same ones on every server; an enum,
// domain or composite type of one database is a different type (or none) in another, and its
// binary form names OIDs that mean nothing there
const FIRST_USER_OID = 16384

/**
 * Whether `query` on `source` can be copied out in binary for a table whose columns are
 * `columns` (the query's own description, in order): both ends are PostgreSQL servers (PGlite
 * moves a COPY as one blob in text) and every column is of a built-in type. Tables made from
 * `columns` then have the same types by construction; an existing table needs `sameTypes` too.
 */
export async function binaryReadable(source: Database, query: string, columns: readonly SourceColumn[]): Promise<boolean> {
  if (source.kind !== 'postgres') return false
  const fields = await source.fields(`select * from (${query}) q limit 0`)
  return fields.length === columns.length && fields.every((f) => f.typeOid < FIRST_USER_OID)
}

/** Whether `table`'s columns named in `columns` have exactly their types (format_type), all built in. */
export async function sameTypes(db: Kysely<any>, table: string, columns: readonly SourceColumn[]): Promise<boolean> {
  const found = new Map((await tableColumns(db, table)).map((r) => [r.name, r]))
  return columns.every((c) => found.get(c.name)?.type === c.type && found.get(c.name)!.typeOid < FIRST_USER_OID)
}
