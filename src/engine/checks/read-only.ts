import { sql, type Kysely } from 'kysely'

/** Longest a check's statement may take; a check is a read of what one run wrote. */
export const CHECK_TIMEOUT_MS = 120_000

/**
 * `fn` read-only with a statement timeout, undone whatever it did: in a savepoint of the run's
 * transaction (made read-only: PostgreSQL allows that step down inside a transaction and undoes
 * it with the savepoint), or in a read-only transaction of its own. A check reads; it can never
 * write (PostgreSQL refuses INSERT, UPDATE, DDL, nextval()).
 */
export async function readOnly<T>(db: Kysely<any>, fn: (db: Kysely<any>) => Promise<T>): Promise<T> {
  if (!db.isTransaction) {
    return db.transaction().execute(async (trx) => {
      await sql`set transaction read only`.execute(trx)
      await sql`select set_config('statement_timeout', ${String(CHECK_TIMEOUT_MS)}, true)`.execute(trx)
      const out = await fn(trx)
      // undone, not committed: nothing a check did (a temporary table) outlives it
      throw new Undone(out)
    }).catch((error: unknown) => {
      if (error instanceof Undone) return error.value as T
      throw error
    })
  }
  await sql`savepoint nightshift_check`.execute(db)
  try {
    await sql`select set_config('transaction_read_only', 'on', true), set_config('statement_timeout', ${String(CHECK_TIMEOUT_MS)}, true)`.execute(db)
    return await fn(db)
  } finally {
    await sql`rollback to savepoint nightshift_check`.execute(db)
    await sql`release savepoint nightshift_check`.execute(db)
  }
}

class Undone {
  constructor(readonly value: unknown) {}
}
