import { KINDS } from '../kinds/index.js'
import { addDays, periodStart, type IsoDate } from '../time/calendar.js'
import type { RegisteredJob } from './job.js'
import { declaredChecks, preflightChecks } from './checks/catalog.js'
import type { ScopeContext } from './checks/scope.js'
import { pairKey, rebuiltUpstream, successfulPairs } from './ledger/index.js'
import { recordBlocked, runJob, targetOf, type RunEnv, type RunOutcome } from './runner.js'
import { ledgerReader } from './ledger/reader.js'

export interface SequenceOptions {
  force?: boolean
  dryRun?: boolean
  /** Rebuild earlier days whose source got late rows (jobs with lookbackDays); default on. */
  lookback?: boolean
  /**
   * A job's own request: `etl retry` hands each pair the parameters and the force it first ran
   * with. A `force` here wins over the sequence's.
   */
  requestOf?: (job: RegisteredJob) => { parameters?: Record<string, unknown>; force?: boolean } | undefined
  /** Called after each job, for progress bars. */
  onOutcome?: (outcome: RunOutcome) => void
}

/** Per job name, days of this sequence and why. */
type DaysOf = Map<string, Map<IsoDate, string>>

const LATE_ROWS = 'late-arriving rows since its last build'
/** How far back a job's partitions are checked against their dependencies' later rebuilds. */
const STALE_WINDOW_DAYS = 7

/**
 * Runs jobs one after another in the given (dependency) order for one date. A job whose
 * dependency FAILED in this sequence is not started; it is recorded FAILED with the reason, so
 * `etl retry` re-runs both. A PARTIAL or SKIPPED dependency does not block.
 *
 * Late rows: before a job's run for the date, the earlier days its kind finds stale (a fact's
 * lookback window) are rebuilt, forced. A rebuilt partition makes the same period of every job
 * depending on it (directly or through others) stale too: those are rebuilt after it, before
 * their own run, so a rollup never keeps numbers its facts no longer have. `--dry-run` lists
 * each such pair as WOULD_RUN with the reason.
 */
export async function runSequence(
  env: RunEnv,
  jobs: readonly RegisteredJob[],
  date: IsoDate | undefined,
  options: SequenceOptions = {},
): Promise<RunOutcome[]> {
  // a job whose partition is SUCCESS already skips, and a cron tick that finds nothing to do
  // should not pay the catalog's round trips for checks that will not run: those jobs' checks are
  // validated only if the sequence rebuilds one of their days after all, right before that run
  const scopeOf = (job: RegisteredJob, ctx: ScopeContext) => KINDS[job.kind].checkScope?.(ctx)
  const done = await alreadyDone(env, jobs, date, options)
  const unchecked = new Set(jobs.filter((job) => done.has(job)))
  await preflightChecks(env.warehouse.db, env.config, jobs.filter((job) => !unchecked.has(job)), scopeOf, jobs)
  const checkBeforeRun = async (job: RegisteredJob) => {
    if (!unchecked.delete(job)) return
    await preflightChecks(env.warehouse.db, env.config, [job], scopeOf, jobs)
  }
  const failed = new Set<string>()
  // per job, the days rebuilt earlier in this sequence (and why), and those whose rebuild failed
  const rebuilt: DaysOf = new Map()
  const rebuildFailed: DaysOf = new Map()
  const outcomes: RunOutcome[] = []
  const emit = (outcome: RunOutcome) => {
    outcomes.push(outcome)
    options.onOutcome?.(outcome)
  }
  for (const job of jobs) {
    // interrupted (SIGINT/SIGTERM): nothing new starts; what is left is for the resume command
    if (env.interrupt?.aborted) break
    const upstream = job.dependsOn.find((dep) => failed.has(dep))
    const own = options.requestOf?.(job)
    const force = own?.force ?? options.force
    let reason: string | undefined // why the run for `date` itself is forced
    if (!upstream && date && options.lookback !== false && job.partition !== 'none') {
      const main = targetOf(job, date)
      for (const redo of await staleDays(env, job, date, rebuilt, rebuildFailed)) {
        if (env.interrupt?.aborted) break
        if (targetOf(job, redo.day) === main) {
          reason = redo.reason
          continue
        }
        if (!redo.blockedBy) await checkBeforeRun(job)
        const outcome = redo.blockedBy
          ? await recordBlocked(env, job, redo.day, redo.blockedBy, true)
          : await runRedo(env, job, redo.day, redo.reason, options.dryRun)
        emit(outcome)
        note(outcome.status === 'FAILED' ? rebuildFailed : rebuilt, job.name, redo.day, redo.reason)
      }
    }
    if (reason && !upstream) await checkBeforeRun(job)
    const outcome =
      upstream && !options.dryRun
        ? await recordBlocked(env, job, date, upstream, Boolean(force))
        : reason
          ? await runRedo(env, job, date!, reason, options.dryRun)
          : await runJob(env, { job, date, force, dryRun: options.dryRun, parameters: own?.parameters })
    if (outcome.status === 'FAILED') failed.add(job.name)
    else if (reason) note(rebuilt, job.name, date!, reason)
    emit(outcome)
  }
  return outcomes
}

/**
 * The jobs whose partition for `date` is SUCCESS already and that nothing forces: their runs will
 * skip (the runner decides that again, under the lock). Dry runs check every job, as before.
 */
async function alreadyDone(env: RunEnv, jobs: readonly RegisteredJob[], date: IsoDate | undefined, options: SequenceOptions): Promise<Set<RegisteredJob>> {
  if (options.dryRun || !date) return new Set()
  const candidates = jobs.filter((job) => job.partition !== 'none' && declaredChecks(job).length > 0 && !(options.requestOf?.(job)?.force ?? options.force))
  if (candidates.length === 0) return new Set()
  const targets = candidates.map((job) => targetOf(job, date)!).sort()
  const succeeded = await successfulPairs(env.warehouse.db, candidates.map((job) => job.name), targets[0]!, targets.at(-1)!)
  return new Set(candidates.filter((job) => succeeded.has(pairKey(job.name, targetOf(job, date)))))
}

interface Redo {
  day: IsoDate
  reason: string
  /** The upstream job whose rebuild of this day failed: the day is recorded blocked, not run. */
  blockedBy?: string
}

/** The days to rebuild for a job before its run: its own stale days, then those rebuilt upstream. */
async function staleDays(
  env: RunEnv,
  job: RegisteredJob,
  date: IsoDate,
  rebuilt: DaysOf,
  rebuildFailed: DaysOf,
): Promise<Redo[]> {
  const redo = new Map<IsoDate, Redo>()
  for (const day of (await KINDS[job.kind].staleDates?.(env, job, date, ledgerReader(env.warehouse.db))) ?? []) redo.set(day, { day, reason: LATE_ROWS })
  for (const dep of job.dependsOn) {
    for (const day of rebuildFailed.get(dep)?.keys() ?? []) redo.set(day, { day, reason: `${dep} could not be rebuilt for ${day}`, blockedBy: dep })
    for (const day of rebuilt.get(dep)?.keys() ?? []) {
      if (!redo.has(day)) redo.set(day, { day, reason: `${dep} was rebuilt for ${day} (${rebuilt.get(dep)!.get(day)})` })
    }
  }
  // rebuilt by an earlier command (the facts' cron entry runs before the rollup's): the ledger knows
  const partition = job.partition as 'day' | 'week' | 'month'
  const from = periodStart(addDays(date, -STALE_WINDOW_DAYS), partition)
  for (const { target, upstream } of await rebuiltUpstream(env.warehouse.db, { name: job.name, partition }, job.dependsOn, from, targetOf(job, date)!)) {
    if (![...redo.keys()].some((day) => targetOf(job, day) === target)) {
      redo.set(target, { day: target, reason: `${upstream} was rebuilt for a day of ${target} after its last build` })
    }
  }
  // one run per partition of this job: a weekly job rebuilt once for several of its days
  const byTarget = new Map<string, Redo>()
  for (const r of [...redo.values()].sort((a, b) => a.day.localeCompare(b.day))) {
    const key = targetOf(job, r.day) ?? ''
    if (!byTarget.has(key) || r.blockedBy) byTarget.set(key, r)
  }
  return [...byTarget.values()]
}

async function runRedo(env: RunEnv, job: RegisteredJob, day: IsoDate, reason: string, dryRun: boolean | undefined): Promise<RunOutcome> {
  const outcome = await runJob(env, { job, date: day, force: true, dryRun, parameters: { reason } })
  return outcome.status === 'WOULD_RUN' ? { ...outcome, message: `rebuild: ${reason}` } : outcome
}

function note(into: DaysOf, job: string, day: IsoDate, reason: string): void {
  if (!into.has(job)) into.set(job, new Map())
  into.get(job)!.set(day, reason)
}

/** Exit code of a set of outcomes: 1 when any FAILED or PARTIAL (SPEC section 3). */
export function exitCodeOfOutcomes(outcomes: readonly RunOutcome[]): 0 | 1 {
  return outcomes.some((o) => o.status === 'FAILED' || o.status === 'PARTIAL') ? 1 : 0
}
