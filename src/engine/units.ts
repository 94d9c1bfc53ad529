import pLimit from 'p-limit'
import { sql, type Kysely } from 'kysely'
import type { JobResult } from './job.js'

export type FailedUnit = NonNullable<JobResult['failedUnits']>[number]

export interface EachUnitOptions<U> {
  /** How the unit is named in `failedUnits`; default `String(unit)`. */
  name?: (unit: U) => string
  /** Called with each failure as it happens (a warning in the run's log, say). */
  onError?: (unit: U, message: string) => void
  /** Units at once; above 1 only with `transaction`. Default 1. */
  concurrency?: number
  /** Runs `fn` in a transaction of its own connection, committed by itself: what concurrency above 1 needs. */
  transaction?: <T>(fn: (db: Kysely<any>) => Promise<T>) => Promise<T>
}

/**
 * Runs `work` for each unit (a tenant, a table, a metric) so that one unit that fails does not
 * undo the others: it becomes a failed unit (the run is PARTIAL) and the next run does it again.
 * Each unit runs in a SAVEPOINT of the run's transaction `db`, rolled back alone if it throws, so
 * the units that succeed commit with the ledger row. With `concurrency` above 1 and a
 * `transaction`, units run that many at once, each in its own transaction (one connection cannot
 * run statements in parallel). `work` should add to its totals only once it has done its unit.
 * Returns the failed units in the order of `units`, each error cut to 300 characters.
 *
 * @example
 * const failedUnits = await eachUnit(ctx.db, tables, async (table, db) => { dropped += await dropOld(db, table) })
 */
export async function eachUnit<U>(
  db: Kysely<any>,
  units: readonly U[],
  work: (unit: U, db: Kysely<any>) => Promise<void>,
  options: EachUnitOptions<U> = {},
): Promise<FailedUnit[]> {
  const failed: Array<{ index: number; unit: FailedUnit }> = []
  const inSavepoint = async (unit: U) => {
    // one name serves every unit: each is released or rolled back before the next begins
    await sql`savepoint etl_unit`.execute(db)
    try {
      await work(unit, db)
      await sql`release savepoint etl_unit`.execute(db)
    } catch (error) {
      await sql`rollback to savepoint etl_unit`.execute(db)
      throw error
    }
  }
  const { transaction } = options
  const concurrency = transaction ? (options.concurrency ?? 1) : 1
  const one = async (unit: U, index: number) => {
    try {
      if (concurrency > 1) await transaction!((trx) => work(unit, trx))
      else await inSavepoint(unit)
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      options.onError?.(unit, message)
      failed.push({ index, unit: { unit: options.name ? options.name(unit) : String(unit), error: message.slice(0, 300) } })
    }
  }
  if (concurrency > 1) {
    const limit = pLimit(concurrency)
    await Promise.all(units.map((unit, index) => limit(() => one(unit, index))))
  } else {
    for (const [index, unit] of units.entries()) await one(unit, index)
  }
  return failed.sort((a, b) => a.index - b.index).map((f) => f.unit)
}
