import { EtlError } from '../errors.js'
import type { IsoDate } from '../time/calendar.js'
import type { RegisteredJob } from './job.js'
import { failedPairsInRange, failedPairsOfRun, type FailedPair } from './ledger/index.js'
import type { JobRegistry } from './registry.js'
import type { RunEnv, RunOutcome } from './runner.js'
import { runSequence } from './sequence.js'

export type RetrySelector = { runId: string } | { from: IsoDate; to: IsoDate }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The failed (job, target) pairs a retry would re-run. */
export async function failedPairs(env: RunEnv, selector: RetrySelector): Promise<FailedPair[]> {
  if ('runId' in selector) {
    if (!UUID.test(selector.runId)) throw new EtlError('BAD_INPUT', `--run-id '${selector.runId}' is not a run id (a UUID from 'etl status')`)
    const { found, pairs } = await failedPairsOfRun(env.warehouse.db, selector.runId)
    if (!found) throw new EtlError('BAD_INPUT', `no run with id ${selector.runId}; 'etl status' lists recent runs`)
    return pairs
  }
  return failedPairsInRange(env.warehouse.db, selector.from, selector.to)
}

/**
 * Re-runs exactly the failed pairs, each with its own date, day by day in dependency order, jobs
 * without a partition first. Each runs as its failed attempt did: the same parameters and the
 * same force, so a failed `etl run --force` is retried forced instead of being skipped over an
 * older SUCCESS. A job without a partition keeps the date it was asked for, so its retry counts
 * for the same range. A pair that has succeeded since is not selected (see the ledger queries).
 */
export async function retry(
  env: RunEnv,
  registry: JobRegistry,
  pairs: readonly FailedPair[],
  options: { onOutcome?: (o: RunOutcome) => void } = {},
): Promise<{ outcomes: RunOutcome[]; unknownJobs: string[] }> {
  const unknownJobs = [...new Set(pairs.filter((p) => !registry.has(p.jobName)).map((p) => p.jobName))]
  const known = pairs.filter((p) => registry.has(p.jobName))
  const byDate = new Map<string, FailedPair[]>()
  for (const pair of known) {
    const key = pair.targetDate ?? ''
    if (!byDate.has(key)) byDate.set(key, [])
    byDate.get(key)!.push(pair)
  }
  const outcomes: RunOutcome[] = []
  for (const [date, group] of [...byDate.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const jobs: RegisteredJob[] = registry.jobs.filter((j) => group.some((p) => p.jobName === j.name))
    const requestOf = (job: RegisteredJob) => {
      const { date: asked, force, ...own } = group.find((p) => p.jobName === job.name)?.parameters ?? {}
      return { force: force === true, parameters: date ? own : { ...own, date: asked ?? null } }
    }
    outcomes.push(...(await runSequence(env, jobs, date || undefined, { onOutcome: options.onOutcome, lookback: false, requestOf })))
  }
  return { outcomes, unknownJobs }
}
