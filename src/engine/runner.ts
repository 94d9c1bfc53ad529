import { randomUUID } from 'node:crypto'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import type { ControlledTransaction } from 'kysely'
import type { RunStatus } from '../db/schema.js'
import { EtlError, isEtlError } from '../errors.js'
import { KINDS, type KindHandler } from '../kinds/index.js'
import type { Logger } from '../log.js'
import { redact } from '../redact.js'
import { dateOf, periodBounds, periodStart, type IsoDate } from '../time/calendar.js'
import { saveFailedChecks, withChecks } from './checks/run.js'
import type { JobContext, JobResult, RegisteredJob } from './job.js'
import { abandonRunning, countAttempts, finishRun, findSuccess, hasRunning, insertRun, ledgerReader } from './ledger/index.js'
import { claimTurn, lockIdOf, tryLockInTransaction } from './lock.js'

/** What every run of one command shares. */
export interface RunEnv {
  readonly config: Config
  readonly log: Logger
  readonly warehouse: Database
  /** The OLTP source, opened on first use. */
  source(): Promise<Database>
  /** Ties together the ledger rows of one command; `etl retry --run-id` takes it. */
  readonly invocationId: string
  /**
   * The command the invocation is (`etl backfill`), kept in each pair's `parameters.command` so
   * the run console can say whether an invocation was a run, a backfill or a retry.
   */
  readonly command?: string
  /** The clock; tests fix it. */
  now(): Date
  /**
   * Aborted on SIGINT/SIGTERM (its reason is the signal's name): no new pair starts, the ones in
   * flight roll back and are recorded FAILED `interrupted (SIGTERM)`.
   */
  readonly interrupt?: AbortSignal
}

export interface RunRequest {
  job: RegisteredJob
  /** The day asked for; ignored by jobs without a partition. */
  date?: IsoDate
  force?: boolean
  dryRun?: boolean
  parameters?: Record<string, unknown>
}

export interface RunOutcome {
  readonly job: string
  readonly target: IsoDate | null
  readonly status: RunStatus | 'WOULD_RUN' | 'WOULD_SKIP'
  readonly runId: string | undefined
  readonly result: JobResult
  readonly durationMs: number
  /** Why it was skipped, or what failed. */
  readonly message: string | undefined
}

export function newInvocationId(): string {
  return randomUUID()
}

/** The partition a job covers for a given day: the day, its week's Monday, its month's 1st, or none. */
export function targetOf(job: RegisteredJob, date: IsoDate | undefined): IsoDate | null {
  if (job.partition === 'none') return null
  if (!date) throw new EtlError('USAGE', `job '${job.name}' runs per ${job.partition} and needs a date`)
  return periodStart(date, job.partition)
}

/**
 * Runs one (job, partition) exactly once, whoever else is trying:
 * lock it → take over runs whose process died → skip if already SUCCESS (unless force) →
 * record RUNNING → do the work and write SUCCESS in one transaction, so a reader never sees half
 * a partition → on failure or interruption, roll back and record FAILED. Never throws for a
 * job's own failure.
 *
 * On a server the lock lives in the work transaction (see lock.ts) and the ledger rows that must
 * outlive it (RUNNING, the takeover) are written on another connection meanwhile. On PGlite (one
 * session, and the process alone on its folder) the ledger is written before the transaction
 * opens, since a write while it is open would wait for it.
 */
export async function runJob(env: RunEnv, request: RunRequest): Promise<RunOutcome> {
  const { job } = request
  const target = targetOf(job, request.date)
  const log = env.log.child({ job: job.name, partition: target ?? undefined })
  const started = env.now()
  // durations from a monotonic clock: `now` may be fixed by a test or jump with NTP
  const t0 = performance.now()
  const elapsed = () => Math.round(performance.now() - t0)
  const outcome = (status: RunOutcome['status'], extra: Partial<RunOutcome> = {}): RunOutcome => ({
    job: job.name,
    target,
    status,
    runId: undefined,
    result: {},
    durationMs: elapsed(),
    message: undefined,
    ...extra,
  })
  // the command last: a retry hands on its failed attempt's parameters, but it is the retry that runs now
  const parameters = { date: request.date ?? null, force: Boolean(request.force), ...request.parameters, ...(env.command ? { command: env.command } : {}) }
  const base = { invocationId: env.invocationId, jobName: job.name, runDate: dateOf(started, env.config.timezone), targetDate: target, parameters }
  const kind: KindHandler = KINDS[job.kind]
  const exclusive = !env.warehouse.concurrent
  const ledgerDb = env.warehouse.db
  const lockId = exclusive ? undefined : await lockIdOf(ledgerDb, job.name, target, { create: !request.dryRun })

  const release = await claimTurn()
  return withReleased(release, () => env.warehouse.withSession(async (session) => {
    let trx: ControlledTransaction<any> | undefined
    const rollback = async () => {
      const open = trx
      trx = undefined
      await open?.rollback().execute()
    }
    const skipped = async (message: string) => {
      await rollback()
      if (request.dryRun) return outcome('WOULD_SKIP', { message })
      // after the rollback: on the session's connection, which no longer holds a server one
      const runId = await insertRun(session.db, { ...base, status: 'SKIPPED', startedAt: started, completedAt: env.now(), durationMs: 0, errorMessage: message })
      log.info({ runId }, `skipped: ${message}`)
      return outcome('SKIPPED', { runId, message })
    }

    let runId: string
    try {
      if (lockId !== undefined) {
        trx = await session.db.startTransaction().execute()
        if (!(await tryLockInTransaction(trx, lockId))) {
          release()
          return await skipped('running elsewhere: another process holds this partition')
        }
      }
      // reads on the lock's connection: a run that skips opens no second one (a server process
      // forked for nothing); the takeover's write must outlive the transaction, so it goes there
      const reader = trx ?? ledgerDb
      // we hold the lock, so whoever left a RUNNING row here is gone
      if (!request.dryRun && (await hasRunning(reader, job.name, target))) {
        const abandoned = await abandonRunning(ledgerDb, job.name, target, env.now())
        if (abandoned) log.warn({ abandoned }, 'took over from a run whose process died')
      }
      if (target !== null && !request.force) {
        const done = await findSuccess(reader, job.name, target)
        if (done) {
          release()
          return await skipped(`already SUCCESS (ledger row ${done.id}); use --force to run it again`)
        }
      }
      if (request.dryRun) {
        await rollback()
        return outcome('WOULD_RUN', { message: request.force ? 'forced' : 'not done yet' })
      }
      const attempt = (await countAttempts(ledgerDb, job.name, target)) + 1
      runId = await insertRun(ledgerDb, { ...base, status: 'RUNNING', startedAt: started, attempt })
      log.info({ runId, attempt }, 'started')
      trx ??= await session.db.startTransaction().execute()
    } catch (error) {
      await rollback().catch(() => {})
      throw error
    } finally {
      release()
    }

    // an interruption cancels the statement in flight, so the rollback need not wait for it
    let committing = false
    const cancel = () => void (committing || session.cancel?.().catch(() => {}))
    env.interrupt?.addEventListener('abort', cancel, { once: true })
    try {
      const work = trx
      const ctx: JobContext = {
        job,
        date: target === null ? null : (request.date ?? null),
        target,
        bounds: target === null ? null : periodBounds(target, job.partition as 'day' | 'week' | 'month', env.config.timezone),
        db: work,
        session,
        warehouse: env.warehouse,
        source: env.source,
        ledger: ledgerReader(work),
        config: env.config,
        log,
        now: started,
        force: Boolean(request.force),
        runId,
        parameters,
      }
      const jobResult = (await untilInterrupted(withChecks(ctx, kind), env.interrupt)) ?? {}
      committing = true
      const failed = jobResult.failedUnits ?? []
      const status: RunStatus = jobResult.skipped ? 'SKIPPED' : failed.length > 0 ? 'PARTIAL' : 'SUCCESS'
      const warned = jobResult.warnings?.length ? `warning: ${jobResult.warnings.map((w) => `${w.unit} (${w.warning})`).join('; ')}` : ''
      const failures = failed.length ? `failed: ${failed.map((u) => `${u.unit} (${u.error})`).join('; ')}` : ''
      const message = jobResult.skipped ? redact(jobResult.skipped) : failures || warned ? redact([failures, warned].filter(Boolean).join('; ')) : null
      await finishRun(work, runId, status, jobResult, { errorMessage: message, durationMs: elapsed(), completedAt: env.now() })
      trx = undefined
      await work.commit().execute()
      const result = { result: jobResult, status, message }
      log.info({ runId, status: result.status, rows: result.result.rowsProcessed ?? 0, ms: elapsed() }, 'finished')
      // the cache follows the warehouse, never leads it: written or invalidated after the commit
      const afterCommit = async () => {
        await result.result.afterCommit?.()
        if (result.status !== 'SKIPPED') await kind.afterCommit?.({ job, target, config: env.config, log })
      }
      await afterCommit().catch((error: unknown) => log.warn({ runId }, `after commit: ${redact(errorText(error))}`))
      return outcome(result.status, { runId, result: result.result, message: result.message ?? undefined })
    } catch (error) {
      const signal = env.interrupt?.aborted ? String(env.interrupt.reason) : undefined
      const message = signal ? `interrupted (${signal})` : redact(errorText(error))
      // the environment (an unreachable source) fails every pair alike: record this one, then
      // stop the command with exit 3 and the error's own line instead of a FAILED row per pair
      const environment = !signal && isEtlError(error) && error.exitCode === 3
      if (signal) log.warn({ runId }, `${message}: rolled back`)
      else if (!environment) log.error({ runId, err: env.config.debug ? error : undefined }, `failed: ${message}`)
      try {
        await rollback()
        // the rollback ended the server transaction: this connection can write the ledger again;
        // a job that failed unit by unit (every symbol) still names each unit in the row
        const failedUnits = (error as { failedUnits?: JobResult['failedUnits'] } | undefined)?.failedUnits
        await finishRun(session.db, runId, 'FAILED', { failedUnits }, { errorMessage: message, durationMs: elapsed(), completedAt: env.now() })
        await saveFailedChecks(session.db, error)
      } catch (lost) {
        // the warehouse went away mid-run: nothing was committed, and the RUNNING row left
        // behind is taken over by the next run once the server is back
        throw new EtlError(
          'DB_UNREACHABLE',
          `lost the warehouse connection while running ${job.name}${target ? ` for ${target}` : ''} (${message}); the partition is unchanged and the next run takes over`,
          { cause: lost },
        )
      }
      if (environment) throw error
      return outcome('FAILED', { runId, message })
    } finally {
      env.interrupt?.removeEventListener('abort', cancel)
    }
  }))
}

async function withReleased<T>(release: () => void, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } finally {
    release() // also when no connection could be had
  }
}

/**
 * The job's promise, or a rejection as soon as the command is interrupted: a job waiting in
 * JavaScript (a sleep, an HTTP call) is not waited for. It may still touch its transaction,
 * which by then is rolled back and refuses.
 */
function untilInterrupted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work
  work.catch(() => {}) // once abandoned, its own failure is nobody's business
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(new Error(`interrupted (${String(signal.reason)})`))
    if (signal.aborted) return stop()
    signal.addEventListener('abort', stop, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop))
  })
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return `${typeof code === 'string' && code.length <= 12 ? `${code}: ` : ''}${error.message}`.slice(0, 4000)
  }
  return String(error).slice(0, 4000)
}

/** Records a run that did not start because a job it depends on failed; `etl retry` picks it up. */
export async function recordBlocked(
  env: RunEnv,
  job: RegisteredJob,
  date: IsoDate | undefined,
  upstream: string,
  force = false,
): Promise<RunOutcome> {
  const target = targetOf(job, date)
  const now = env.now()
  const message = `not run: upstream job ${upstream} failed`
  const runId = await insertRun(env.warehouse.db, {
    invocationId: env.invocationId,
    jobName: job.name,
    runDate: dateOf(now, env.config.timezone),
    targetDate: target,
    status: 'FAILED',
    startedAt: now,
    completedAt: now,
    durationMs: 0,
    errorMessage: message,
    // the force it would have run with, so `etl retry` runs it the same way
    parameters: { date: date ?? null, force },
  })
  env.log.warn({ job: job.name, partition: target ?? undefined }, message)
  return { job: job.name, target, status: 'FAILED', runId, result: {}, durationMs: 0, message }
}
