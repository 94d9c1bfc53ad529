import type { Readable } from 'node:stream'
import type { Database, Session } from '../db/database.js'
import { binaryReadable, copyOptions, type CopyFormat } from './copy-format.js'
import type { SourceColumn } from './describe.js'
import { ident, qualified } from './identifiers.js'

/**
 * Moves a source query's rows into a fresh staging table of the warehouse: `COPY (query) TO
 * STDOUT` on the source piped into `COPY … FROM STDIN` on the run's own warehouse connection, with
 * backpressure, so memory does not grow with the row count on a server. Binary between two
 * servers when every column is of a built-in type (staging is made from `columns`, so its types
 * are the source's), else text. PGlite cannot stream: an embedded side moves the rows as one blob.
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
  /** Runs once the empty staging table exists, before the copy (a dimension makes it a Citus reference table there). */
  prepare?: (table: string) => Promise<unknown>
}): Promise<number> {
  const { source, query, columns, warehouse, table, prepare } = options
  const format: CopyFormat = warehouse.kind === 'postgres' && (await binaryReadable(source, query, columns)) ? 'binary' : 'text'
  return stageRows(warehouse, table, columns, () => source.copyOut(`copy (${query}) to stdout${copyOptions(format)}`), { format, prepare })
}

/**
 * Creates the staging table and fills it from rows in PostgreSQL's COPY text format, from any
 * source (a PostgreSQL COPY, BigQuery pages turned into text), or in its binary format
 * (`format: 'binary'`, from a server's COPY of exactly these types). Returns the rows copied.
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
  options: { analyze?: boolean; format?: CopyFormat; prepare?: (table: string) => Promise<unknown> } = {},
): Promise<number> {
  const [schema] = table.split('.')
  await ensureStagingSchema(warehouse, schema!)
  await warehouse.exec(
    `drop table if exists ${qualified(table)};
     create unlogged table ${qualified(table)} (${columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ')});`,
  )
  // empty still: distributing it now copies no rows
  await options.prepare?.(table)
  const copied = await copyInFrom(warehouse, `copy ${qualified(table)} (${columns.map((c) => ident(c.name)).join(', ')}) from stdin${copyOptions(options.format ?? 'text')}`, open)
  // a new table has no statistics: without them the merge that joins staging to a large target
  // can choose to scan all of the target. A sample of 3,000 rows (statistics 10) tells the
  // planner as much about sizes and keys for that, at a tenth of the default's cost (0.1 s of 1M rows)
  if (options.analyze ?? true) {
    const t = qualified(table)
    await warehouse.exec(`alter table ${t} ${columns.map((c) => `alter column ${ident(c.name)} set statistics ${STAGING_STATISTICS}`).join(', ')}; analyze ${t}`)
  }
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

const STAGING_STATISTICS = 10

export async function dropStaging(warehouse: Session, table: string): Promise<void> {
  await warehouse.exec(`drop table if exists ${qualified(table)}`)
}
