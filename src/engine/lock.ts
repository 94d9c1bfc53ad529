import { sql } from 'kysely'
import type { Session } from '../db/database.js'

/**
 * One (job, partition) runs in one process at a time, on any number of machines: a session-level
 * advisory lock on the run's own connection. It is released when the run ends or, if the process
 * dies, when PostgreSQL notices the connection is gone, which is how a later run knows that a
 * RUNNING row is abandoned. On PGlite the data-directory lock already makes the process exclusive.
 */
const NAMESPACE = 0x6e73 // 'ns': keeps our keys apart from other users of advisory locks

export function lockKey(jobName: string, target: string | null): string {
  return `${jobName}|${target ?? ''}`
}

export async function tryLock(session: Session, key: string): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${NAMESPACE}, hashtext(${key})) as locked`.execute(
    session.db,
  )
  return rows[0]!.locked
}

export async function unlock(session: Session, key: string): Promise<void> {
  await sql`select pg_advisory_unlock(${NAMESPACE}, hashtext(${key}))`.execute(session.db)
}
