import type { Readable } from 'node:stream'
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
  return stageRows(warehouse, table, columns, () => source.copyOut(`copy (${query}) to stdout`))
}

/**
 * Creates the staging table and fills it from rows in PostgreSQL's COPY text format, from any
 * source (a PostgreSQL COPY, BigQuery pages turned into text). Returns the rows copied.
 * `analyze: false` skips the statistics, for callers that only scan staging or probe other tables
 * by key with it (a table never analyzed is estimated from its size in pages).
 *
 * `open` starts the extract only once the staging table exists: a source COPY opened earlier and
 * left unread when the DDL fails would hold its connection (and the process) for ever.
 */
export async function stageRows(
  warehouse: Session,
  table: string,
  columns: readonly SourceColumn[],
  open: () => Promise<Readable>,
  options: { analyze?: boolean } = {},
): Promise<number> {
  const [schema] = table.split('.')
  await ensureStagingSchema(warehouse, schema!)
  await warehouse.exec(
    `drop table if exists ${qualified(table)};
     create unlogged table ${qualified(table)} (${columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ')});`,
  )
  const copied = await copyInFrom(warehouse, `copy ${qualified(table)} (${columns.map((c) => ident(c.name)).join(', ')}) from stdin`, open)
  // a new table has no statistics: without them the merge that joins staging to a large target
  // can choose to scan all of the target
  if (options.analyze ?? true) await warehouse.exec(`analyze ${qualified(table)}`)
  return copied
}

/**
 * `COPY … FROM STDIN` fed by a stream opened here, which is destroyed when anything fails: the
 * source side then closes its connection instead of waiting, unread, for ever.
 */
export async function copyInFrom(warehouse: Session, copySql: string, open: () => Promise<Readable>): Promise<number> {
  const rows = await open()
  try {
    return await warehouse.copyIn(copySql, rows)
  } finally {
    if (!rows.readableEnded && !rows.destroyed) rows.destroy()
  }
}

/**
 * The staging schema exists from migration 0007 on. It is made here only when it was dropped
 * since: `CREATE SCHEMA IF NOT EXISTS` from parallel runs, inside their transactions, waits on
 * and then fails with the first one's uncommitted row in pg_namespace.
 */
async function ensureStagingSchema(warehouse: Session, schema: string): Promise<void> {
  // one script on the session's own connection (its db may be outside the run's transaction)
  const name = ident(schema).replaceAll("'", "''")
  await warehouse.exec(`do $$ begin if to_regnamespace('${name}') is null then create schema if not exists ${ident(schema)}; end if; end $$`)
}

export async function dropStaging(warehouse: Session, table: string): Promise<void> {
  await warehouse.exec(`drop table if exists ${qualified(table)}`)
}
