import { EtlError } from '../errors.js'
import type { IsoDate } from '../time/calendar.js'
import type { RegisteredJob } from './job.js'
import { failedPairsInRange, failedPairsOfRun, type FailedPair } from './ledger.js'
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
 * Re-runs exactly the failed pairs, each with its own date, day by day in dependency order. A pair
 * that has succeeded since is skipped by the runner like any other SUCCESS partition.
 */
export async function retry(
  env: RunEnv,
  registry: JobRegistry,
  pairs: readonly FailedPair[],
  options: { onOutcome?: (o: RunOutcome) => void } = {},
): Promise<{ outcomes: RunOutcome[]; unknownJobs: string[] }> {
  const unknownJobs = [...new Set(pairs.filter((p) => !registry.has(p.jobName)).map((p) => p.jobName))]
  const known = pairs.filter((p) => registry.has(p.jobName))
  const byDate = new Map<string, Set<string>>()
  for (const pair of known) {
    const key = pair.targetDate ?? ''
    if (!byDate.has(key)) byDate.set(key, new Set())
    byDate.get(key)!.add(pair.jobName)
  }
  const outcomes: RunOutcome[] = []
  for (const [date, names] of [...byDate.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const jobs: RegisteredJob[] = registry.jobs.filter((j) => names.has(j.name))
    // each pair again with the parameters it first ran with (a prices run's range and symbols)
    const parametersOf = (job: RegisteredJob) => {
      const { date: _date, force: _force, ...own } = known.find((p) => p.jobName === job.name && (p.targetDate ?? '') === date)?.parameters ?? {}
      return own
    }
    outcomes.push(...(await runSequence(env, jobs, date || undefined, { onOutcome: options.onOutcome, lookback: false, parametersOf })))
  }
  return { outcomes, unknownJobs }
}
