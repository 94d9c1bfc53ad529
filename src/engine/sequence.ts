import { KINDS } from '../kinds/index.js'
import type { IsoDate } from '../time/calendar.js'
import type { RegisteredJob } from './job.js'
import { recordBlocked, runJob, type RunEnv, type RunOutcome } from './runner.js'

export interface SequenceOptions {
  force?: boolean
  dryRun?: boolean
  /** Rebuild earlier days whose source got late rows (jobs with lookbackDays); default on. */
  lookback?: boolean
  /** Parameters for a job's run (`etl retry` hands each pair the ones it first ran with). */
  parametersOf?: (job: RegisteredJob) => Record<string, unknown> | undefined
  /** Called after each job, for progress bars. */
  onOutcome?: (outcome: RunOutcome) => void
}

/**
 * Runs jobs one after another in the given (dependency) order for one date. A job whose
 * dependency FAILED in this sequence is not started; it is recorded FAILED with the reason, so
 * `etl retry` re-runs both. A PARTIAL or SKIPPED dependency does not block.
 */
export async function runSequence(
  env: RunEnv,
  jobs: readonly RegisteredJob[],
  date: IsoDate | undefined,
  options: SequenceOptions = {},
): Promise<RunOutcome[]> {
  const failed = new Set<string>()
  const outcomes: RunOutcome[] = []
  for (const job of jobs) {
    // interrupted (SIGINT/SIGTERM): nothing new starts; what is left is for the resume command
    if (env.interrupt?.aborted) break
    const upstream = job.dependsOn.find((dep) => failed.has(dep))
    if (!upstream && !options.dryRun && date && options.lookback !== false) {
      for (const day of (await KINDS[job.kind].staleDates?.(env, job, date)) ?? []) {
        if (env.interrupt?.aborted) break
        const redo = await runJob(env, { job, date: day, force: true, parameters: { reason: `late-arriving rows since its last build` } })
        outcomes.push(redo)
        options.onOutcome?.(redo)
      }
    }
    const outcome =
      upstream && !options.dryRun
        ? await recordBlocked(env, job, date, upstream)
        : await runJob(env, { job, date, force: options.force, dryRun: options.dryRun, parameters: options.parametersOf?.(job) })
    if (outcome.status === 'FAILED') failed.add(job.name)
    outcomes.push(outcome)
    options.onOutcome?.(outcome)
  }
  return outcomes
}

/** Exit code of a set of outcomes: 1 when any FAILED or PARTIAL (SPEC section 3). */
export function exitCodeOfOutcomes(outcomes: readonly RunOutcome[]): 0 | 1 {
  return outcomes.some((o) => o.status === 'FAILED' || o.status === 'PARTIAL') ? 1 : 0
}
