import { sql } from 'kysely'
import type { Readable } from 'node:stream'
import type { Database } from '../../db/database.js'
import { binaryReadable, copyOptions, type CopyFormat } from '../../io/copy-format.js'
import { describeSource, type SourceColumn } from '../../io/describe.js'
import { ident, literal, qualified } from '../../io/identifiers.js'
import { distinctDays } from '../../storage/partitions.js'
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
  /**
   * The rows (all, or those with `since.column >= since.value`) with `columns` in order, as COPY
   * text, or in COPY's binary format when asked and `binary` said yes.
   */
  rows(columns: readonly SourceColumn[], since: Since | null, format?: CopyFormat): Promise<Readable>
  /** Whether `rows` can give these columns in binary (a PostgreSQL server, built-in types only); absent: never. */
  binary?(columns: readonly SourceColumn[]): Promise<boolean>
  /** Whether the source itself allows at most one row per value of `key` (a unique index on some of its columns). */
  uniqueKey?(key: readonly string[]): Promise<boolean>
  /**
   * The UTC days (YYYY-MM-DD) that a date or timestamp column's values fall on, for the
   * partitions a load of everything needs before it can COPY straight into a partitioned target.
   */
  days?(column: SourceColumn): Promise<string[]>
}

/** An OLTP PostgreSQL source: `COPY (select …) TO STDOUT`, streamed with backpressure. */
export function postgresSource(db: Database, source: { table: string } | { query: string }): SyncSource {
  return {
    describe: () => describeSource(db, source),
    rows(columns, since, format = 'text') {
      return db.copyOut(`copy (${extractQuery(source, columns, since)}) to stdout${copyOptions(format)}`)
    },
    binary: (columns) => binaryReadable(db, extractQuery(source, columns, null), columns),
    // a query's rows promise nothing; a table's unique index (or primary key) does
    uniqueKey: 'table' in source ? (key) => hasUniqueIndexWithin(db, source.table, key) : undefined,
    days: (column) => distinctDays(db.db, fromClause(source), column),
  }
}

/** A valid unique index, neither partial nor on expressions, whose key columns are all among `key`. */
async function hasUniqueIndexWithin(db: Database, table: string, key: readonly string[]): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    select exists (
      select 1 from pg_index i
      where i.indrelid = ${qualified(table)}::regclass and i.indisunique and i.indisvalid
        and i.indpred is null and i.indexprs is null
        and (select array_agg(a.attname::text) from pg_attribute a
             where a.attrelid = i.indrelid and a.attnum = any ((i.indkey::int2[])[0:i.indnkeyatts - 1])) <@ ${[...key]}::text[]
    ) as found`.execute(db.db)
  return rows[0]!.found
}

/** `alias.column >= value`, as SQL text with the value inlined (COPY takes no bind parameters). */
export function atOrAfter(alias: string, since: Since): string {
  return `${alias}.${ident(since.column)} >= ${literal(since.value)}::${castType(since.type)}`
}

export function extractQuery(source: { table: string } | { query: string }, columns: readonly SourceColumn[], since: Since | null): string {
  const from = fromClause(source)
  const where = since ? ` where ${atOrAfter('q', since)}` : ''
  return `select ${columns.map((c) => `q.${ident(c.name)}`).join(', ')} from ${from}${where}`
}

function fromClause(source: { table: string } | { query: string }): string {
  return 'table' in source ? `${qualified(source.table)} q` : `(${source.query}) q`
}
