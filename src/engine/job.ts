// the ledger facts a job's work may read (ctx.ledger)
import type { LedgerReader } from './ledger/reader.js'
import type { Kysely } from 'kysely'
import type { Config } from '../config.js'
import type { Database, Session } from '../db/database.js'
import type { Logger } from '../log.js'
import type { Bounds, IsoDate } from '../time/calendar.js'

export const JOB_KINDS = ['dimension', 'fact', 'rollup', 'series', 'prices', 'table-sync', 'custom'] as const
export type JobKind = (typeof JOB_KINDS)[number]

/** What one run covers: a day, a week (Monday start), a month, or nothing (runs each time it is called). */
export type PartitionKind = 'day' | 'week' | 'month' | 'none'

/** Fields every job file has, whatever its kind. */
export interface JobCommon {
  kind: JobKind
  /** Defaults to the file name without its extension. */
  name?: string
  description?: string
  /** Five-field cron expression, read in `timezone`. */
  schedule?: string
  /** IANA zone of the schedule; default UTC. */
  timezone?: string
  dependsOn?: string[]
  /** Default: by kind (facts and rollups by day, dimensions none). */
  partition?: PartitionKind
  /** Whether `etl run` includes it; default true for day/none partitions of pipeline kinds. */
  pipeline?: boolean
  /**
   * 'HH:MM' in `timezone`: the partition of day D must be SUCCESS by then on D+1 (`etl check`).
   * @example deadline: '06:00'
   */
  deadline?: string
}

/** A job whose work is code: `run` gets the context and returns counts. */
export interface CustomJobDefinition extends JobCommon {
  kind: 'custom'
  run(ctx: JobContext): Promise<JobResult | void>
}

/** Any job file's default export; the kinds' own fields are checked by their schemas. */
export type JobDefinition = JobCommon & Record<string, unknown>

/** What a job reports. Units that failed (a symbol, a tenant) make the run PARTIAL. */
export interface JobResult {
  rowsProcessed?: number
  rowsInserted?: number
  rowsUpdated?: number
  rowsDeleted?: number
  failedUnits?: Array<{ unit: string; error: string }>
  /** Units done, but not wholly (a provider gave less history than asked): named in the ledger's error_message, the status unchanged. */
  warnings?: Array<{ unit: string; warning: string }>
  /** The job found nothing to do (a market-hours job outside market hours): the run is recorded SKIPPED with this reason. */
  skipped?: string
  /** Runs once the run's transaction has committed (cache writes); a failure there is a warning and leaves the status as it is. */
  afterCommit?: () => Promise<void>
}

export type { LedgerReader }

/**
 * Everything a job's work gets from the runner. `db` is the run's transaction on the warehouse:
 * writes through it commit together with the ledger's SUCCESS row or not at all.
 */
export interface JobContext {
  readonly job: RegisteredJob
  /** The day asked for (`--date`), or null for jobs without a partition. */
  readonly date: IsoDate | null
  /** First day of the partition (the day, the week's Monday, the month's 1st), or null. */
  readonly target: IsoDate | null
  /** `[from, to)` of the partition in ETL_TIMEZONE, or null. */
  readonly bounds: Bounds | null
  readonly db: Kysely<any>
  /** The run's warehouse connection, for COPY into staging inside the same transaction. */
  readonly session: Session
  readonly warehouse: Database
  /** The OLTP source, opened on first use. */
  source(): Promise<Database>
  /** Ledger facts (days SUCCESS, the latest SUCCESS), read through `db`; only the runner writes the ledger. */
  readonly ledger: LedgerReader
  readonly config: Config
  readonly log: Logger
  readonly now: Date
  readonly force: boolean
  readonly runId: string
  readonly parameters: Readonly<Record<string, unknown>>
}

/** A loaded, validated job. */
export interface RegisteredJob {
  readonly name: string
  readonly kind: JobKind
  readonly file: string
  readonly partition: PartitionKind
  readonly pipeline: boolean
  readonly schedule: string | undefined
  readonly timezone: string
  readonly dependsOn: readonly string[]
  readonly description: string | undefined
  /** 'HH:MM' in `timezone` by which the last finished partition must be SUCCESS; see `etl check`. */
  readonly deadline?: string
  readonly definition: Readonly<JobDefinition>
}
