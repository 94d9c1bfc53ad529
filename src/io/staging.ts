import type { Database, Session } from '../db/database.js'
import type { SourceColumn } from './describe.js'
import { ident, qualified } from './identifiers.js'

/**
 * Moves a source query's rows into a fresh staging table of the warehouse: `COPY (query) TO
 * STDOUT` on the source piped into `COPY … FROM STDIN` on the run's own warehouse connection, in
 * PostgreSQL's text format, with backpressure, so memory does not grow with the row count on a
 * server. PGlite cannot stream: an embedded side moves the rows as one blob.
 *
 * The staging table is UNLOGGED and created inside the run's transaction, so a failed run leaves
 * nothing behind and the data never pays for WAL twice.
 */
export async function loadStaging(options: {
  source: Database
  /** A SELECT whose columns are `columns`, in order. Bind parameters cannot go into COPY: use `literal`. */
  query: string
  columns: readonly SourceColumn[]
  warehouse: Session
  /** `schema.table` of the staging table. */
  table: string
}): Promise<number> {
  const { source, query, columns, warehouse, table } = options
  const [schema] = table.split('.')
  const columnList = columns.map((c) => ident(c.name)).join(', ')
  await warehouse.exec(
    `create schema if not exists ${ident(schema!)};
     drop table if exists ${qualified(table)};
     create unlogged table ${qualified(table)} (${columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ')});`,
  )
  const rows = await source.copyOut(`copy (${query}) to stdout`)
  return warehouse.copyIn(`copy ${qualified(table)} (${columnList}) from stdin`, rows)
}

export async function dropStaging(warehouse: Session, table: string): Promise<void> {
  await warehouse.exec(`drop table if exists ${qualified(table)}`)
}
