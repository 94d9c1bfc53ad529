import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { z } from 'zod'
import type { ApiScope, Config } from '../config.js'
import type { CheckScope, ScopeContext } from '../engine/checks/scope.js'
import type { JobContext, JobResult, LedgerReader, PartitionKind, RegisteredJob } from '../engine/job.js'
import type { RunEnv } from '../engine/runner.js'
import type { Logger } from '../log.js'
import type { IsoDate } from '../time/calendar.js'

/**
 * What a kind of job means. The engine, the CLI, the cache and ops know kinds only through the
 * table below: the fields a job file of the kind has (its schema, which also types its
 * `define<Kind>` helper), its default partition, whether `etl run` includes it, the work itself,
 * what it does once a run has committed, and what `etl schedule` runs it with. The commands a
 * kind adds to `etl` are in src/kinds/commands.ts (kept apart so `etl --help` loads no schema).
 *
 * @example
 * export const myKind = defineKind({ schema: MySchema, defaultPartition: 'day', inPipeline: true, execute: runMine })
 */
export interface KindHandler<S extends z.ZodType = z.ZodType> {
  readonly schema: S
  readonly defaultPartition: PartitionKind
  readonly inPipeline: boolean
  readonly execute: (ctx: JobContext) => Promise<JobResult | void>
  /** Earlier partitions whose source changed since they were built (late-arriving data); `etl run` redoes them first. */
  readonly staleDates?: (env: RunEnv, job: RegisteredJob, date: IsoDate, ledger: LedgerReader) => Promise<IsoDate[]>
  /**
   * The tables a job of the kind writes (its targets, in the warehouse schema unless qualified):
   * `etl docs` names the job beside each table of the catalog.
   */
  readonly targets?: (job: RegisteredJob) => readonly string[]
  /** What the columns the kind adds to its targets mean (a dimension's SCD2 columns), for `etl docs` where the table has no comment. */
  readonly columnNotes?: (job: RegisteredJob) => Readonly<Record<string, string>>
  /** The table and rows a run wrote (or, for `etl test`, the finished partition): what the job's `checks` read. */
  readonly checkScope?: (ctx: ScopeContext) => CheckScope | undefined
  /** The cache tags a finished run of the job makes stale (none by default). */
  readonly cacheTags?: (job: RegisteredJob, target: IsoDate | null) => string[]
  /**
   * Runs once a run that did work (not SKIPPED) has committed, beside the run's own
   * `afterCommit`: cache invalidation. A failure is a warning; the run's status stands.
   */
  readonly afterCommit?: (run: CommittedRun) => Promise<void>
  /**
   * The `etl` arguments that run the job alone on its schedule; default `run-job --job NAME`,
   * whose date is yesterday. A kind that gives its own runs a command that picks the partition
   * itself (the last complete week), so `etl schedule` does not warn about an unended period.
   */
  readonly scheduleArgs?: (job: RegisteredJob) => string[] | undefined
  /**
   * HTTP endpoints the kind adds to `etl serve` (the rollup's metrics admin API). `etl serve`
   * checks the bearer token and the route's scope, reads the JSON body and maps errors to
   * statuses; the handler gets the request and returns the JSON answer.
   */
  readonly routes?: readonly KindRoute[]
  /** `etl cache warm`: puts the kind's most asked-for payloads into the cache from the warehouse; counts per family. */
  readonly warmCache?: (redis: Redis, db: Kysely<any>) => Promise<Record<string, number>>
}

/** Who calls an endpoint, from its bearer token (ETL_ADMIN_TOKEN, or one of `config.apiTokens`). */
export interface Caller {
  readonly admin: boolean
  readonly user: string | undefined
  readonly team: string | undefined
  readonly organization: string | undefined
  readonly scopes: readonly ApiScope[]
}

/** What an endpoint's handler gets. */
export interface RouteRequest {
  readonly query: URLSearchParams
  /** The JSON body of a POST (an object), or undefined. */
  readonly body: Record<string, unknown> | undefined
  readonly caller: Caller
  readonly db: Kysely<any>
  /** The registered jobs (what a kind's `targets` are read from). */
  readonly jobs: readonly RegisteredJob[]
  readonly config: Config
  readonly now: Date
}

/**
 * One endpoint of `etl serve`: an exact path, its method and the scope a non-admin token needs.
 * `handle` returns the JSON body (status 200, or `status` when it says so). Bad input is an
 * `EtlError` of exit code 2 (400); a caller without the right is a `RouteError(403)`.
 *
 * @example { method: 'GET', path: '/metrics/weekly', scope: 'metrics:read', handle: async (r) => (await import('./api.js')).weekly(r) }
 */
export interface KindRoute {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly scope: ApiScope
  readonly handle: (request: RouteRequest) => Promise<{ status?: number; body: unknown }>
}

/** An answer other than 200 that is not bad input: 403 forbidden, 404 not found. */
export class RouteError extends Error {
  constructor(
    readonly status: 403 | 404,
    message: string,
  ) {
    super(message)
    this.name = 'RouteError'
  }
}

/** What a kind's `afterCommit` is told about the run. */
export interface CommittedRun {
  readonly job: RegisteredJob
  readonly target: IsoDate | null
  readonly config: Config
  readonly log: Logger
}

/** Declares a kind, keeping its schema's type so job files of the kind get real types. */
export const defineKind = <S extends z.ZodType>(handler: KindHandler<S>): KindHandler<S> => handler
