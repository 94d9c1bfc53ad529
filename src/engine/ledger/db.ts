import { sql, type Kysely } from 'kysely'
import type { IsoDate } from '../../time/calendar.js'
import type { LedgerTables } from './table.js'

/** Any warehouse handle (a pool, a session, the run's transaction); the ledger types its own table. */
export type Db = Kysely<any>
export const ledger = (db: Db) => db as unknown as Kysely<LedgerTables>

/** The rows of one (job, partition); a job without partition has a null target. */
export const samePartition = (jobName: string, target: IsoDate | null) =>
  sql<boolean>`job_name = ${jobName} and target_date is not distinct from ${target}::date`

/** A (job, partition) as one string, for sets and maps of pairs. */
export const pairKey = (jobName: string, target: string | null) => `${jobName}@${target ?? ''}`
