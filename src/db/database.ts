import type { Kysely } from 'kysely'
import type { Readable } from 'node:stream'

/**
 * One connection's worth of work: kysely bound to that connection, multi-statement scripts, and
 * COPY in and out on the same connection, so COPY into staging can share the run's transaction.
 */
export interface Session {
  /** PostgreSQL moves COPY as a stream in text or binary; PGlite as one blob, in text here. */
  readonly kind: 'postgres' | 'pglite'
  readonly db: Kysely<any>
  /** Runs a script of several statements with no parameters (migrations, generated DDL). */
  exec(script: string): Promise<void>
  /** `COPY … FROM STDIN` fed from a byte stream (PGlite: read whole, then `FROM '/dev/blob'`). Returns rows copied. */
  copyIn(copySql: string, data: Readable): Promise<number>
  /** `COPY … TO STDOUT` as a byte stream (PGlite: `TO '/dev/blob'`, which it cannot stream). */
  copyOut(copySql: string): Promise<Readable>
  /**
   * Asks the server to cancel the statement running on this connection, if any (PostgreSQL's
   * cancel request, which PgBouncer forwards to the server connection it lent). PGlite runs a
   * statement to its end: it has none.
   */
  cancel?(): Promise<void>
}

/**
 * A database nightshift talks to: the OLTP source or the warehouse. The contract is small on
 * purpose (pg-boss style), so the PostgreSQL and PGlite adapters stay short.
 *
 * @example
 * const wh = await openDatabase(config, 'warehouse')
 * await wh.withSession(async (s) => s.db.transaction().execute(async (trx) => { ... }))
 */
export interface Database extends Session {
  readonly role: 'oltp' | 'warehouse' | 'test'
  /** Where it lives, with no password: `postgres://app@db:5432/warehouse` or `pglite:/srv/.etl/warehouse`. */
  readonly label: string
  /**
   * Whether several connections can work at once. PGlite has a single session: advisory locks
   * mean nothing there and a second query while a transaction is open waits for it.
   */
  readonly concurrent: boolean
  /** Result columns of a statement without running it for rows: name, type OID, type modifier. */
  fields(statement: string): Promise<Array<{ name: string; typeOid: number; typmod: number }>>
  /** Holds one connection for the callback: session-level locks and transactions live on it. */
  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** Values the drivers return, made the same on both: dates stay 'YYYY-MM-DD', int8 becomes a number. */
export const TYPE_OIDS = { int8: 20, date: 1082 } as const

export function parseInt8(value: string): number | string {
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : value
}

export const identity = (value: string): string => value
