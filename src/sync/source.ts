import type { Readable } from 'node:stream'
import type { Database } from '../db/database.js'
import { describeSource, type SourceColumn } from '../io/describe.js'
import { ident, literal, qualified } from '../io/identifiers.js'
import { castType } from './watermark.js'

/** Rows at or after this value of the incremental column; null reads everything. */
export interface Since {
  readonly column: string
  /** PostgreSQL text of the value, in `type`. */
  readonly value: string
  /** format_type of the incremental column. */
  readonly type: string
}

/**
 * Where a table sync reads from. The contract is two calls: the columns, then the rows as
 * PostgreSQL's COPY text format, so the warehouse side is one `COPY … FROM STDIN` whatever the
 * source.
 */
export interface SyncSource {
  describe(): Promise<SourceColumn[]>
  /** The rows (all, or those with `since.column >= since.value`) with `columns` in order, as COPY text. */
  rows(columns: readonly SourceColumn[], since: Since | null): Promise<Readable>
}

/** An OLTP PostgreSQL source: `COPY (select …) TO STDOUT`, streamed with backpressure. */
export function postgresSource(db: Database, source: { table: string } | { query: string }): SyncSource {
  return {
    describe: () => describeSource(db, source),
    rows(columns, since) {
      return db.copyOut(`copy (${extractQuery(source, columns, since)}) to stdout`)
    },
  }
}

export function extractQuery(source: { table: string } | { query: string }, columns: readonly SourceColumn[], since: Since | null): string {
  const from = 'table' in source ? `${qualified(source.table)} q` : `(${source.query}) q`
  const where = since ? ` where q.${ident(since.column)} >= ${literal(since.value)}::${castType(since.type)}` : ''
  return `select ${columns.map((c) => `q.${ident(c.name)}`).join(', ')} from ${from}${where}`
}
