import { sql, type Kysely } from 'kysely'
import type { IsoDate } from '../time/calendar.js'

/**
 * One (job, partition) runs in one process at a time, on any number of machines, also behind a
 * transaction pooler (PgBouncer `pool_mode = transaction`): the run takes a transaction-scoped
 * advisory lock inside its own work transaction. It cannot outlive that transaction, whichever
 * server connection the pooler lent, and it ends when the process dies because the server rolls
 * the transaction back. A session lock would be taken on one server connection and "released" on
 * another, and stay held for good.
 *
 * The lock's number is the pair's row id in `etl_run_locks` (exact, assigned once): two pairs
 * never share one, as two keys with the same 32-bit hash did.
 *
 * Whether a RUNNING row's run is alive is read from pg_locks, never by taking the lock: a
 * checker holding it even for a moment would make a run starting then record SKIPPED wrongly.
 * On PGlite the data-folder lock already makes the process the only one.
 */
export const LOCK_NAMESPACE = 0x6e73 // 'ns': classid of our keys, apart from other users of advisory locks

type Db = Kysely<any>

const targetKey = (target: IsoDate | null) => target ?? ''

/**
 * The pair's lock number, its row created on first use (autocommit, before the run's
 * transaction). With `create: false` (a dry run writes nothing) undefined when it has none yet:
 * then nobody can hold it.
 */
export async function lockIdOf(db: Db, jobName: string, target: IsoDate | null, options: { create?: boolean } = {}): Promise<number | undefined> {
  const key = targetKey(target)
  const find = () => sql<{ id: number }>`select id from etl_run_locks where job_name = ${jobName} and target_key = ${key}`.execute(db)
  for (let attempt = 0; attempt < 3; attempt++) {
    const found = (await find()).rows[0]
    if (found) return found.id
    if (options.create === false) return undefined
    // a concurrent first run may insert it between our select and insert: then select again
    const inserted = await sql<{ id: number }>`
      insert into etl_run_locks (job_name, target_key) values (${jobName}, ${key})
      on conflict (job_name, target_key) do nothing returning id`.execute(db)
    if (inserted.rows[0]) return inserted.rows[0].id
  }
  throw new Error(`could not create the lock row of ${jobName}@${key}`)
}

/**
 * Inside the run's transaction: true when this transaction now holds the pair. It also has the
 * server check every 2 s, during a statement, that the client is still there (PostgreSQL 14+):
 * a process killed in the middle of a long statement would otherwise leave its backend running
 * that statement to its end, lock held.
 */
export async function tryLockInTransaction(trx: Db, lockId: number): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`
    select pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, ${lockId}::int) as locked,
      (select set_config('client_connection_check_interval', '2000', true) where current_setting('server_version_num')::int >= 140000) as checked`.execute(trx)
  return rows[0]!.locked
}

/**
 * SQL: the RUNNING ledger row `r` has no live run: nothing holds its pair's lock, or
 * the pair has no lock row at all (written before locks had rows). Read-only.
 */
export const runIsGone = sql<boolean>`not exists (
  select 1 from etl_run_locks l
  join pg_locks k on k.locktype = 'advisory' and k.granted and k.classid = ${LOCK_NAMESPACE} and k.objid = l.id and k.objsubid = 2
    and k.database = (select oid from pg_database where datname = current_database())
  where l.job_name = r.job_name and l.target_key = coalesce(to_char(r.target_date, 'YYYY-MM-DD'), ''))`

let claimTail: Promise<void> = Promise.resolve()

/**
 * One run of this process at a time takes its lock and writes RUNNING: that is the only moment
 * a run holds its transaction's connection and needs a second one for the ledger. Serialised, N
 * runs at once need at most N + 1 connections (ours and the pooler's server connections), and
 * none waits for a connection held by another run that waits in turn.
 */
export function claimTurn(): Promise<() => void> {
  let release!: () => void
  const next = new Promise<void>((resolve) => (release = resolve))
  const turn = claimTail.then(() => release)
  claimTail = claimTail.then(() => next)
  return turn
}
