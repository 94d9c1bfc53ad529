import type { Kysely } from 'kysely'
import type { Config } from '../../config.js'
import { KINDS } from '../../kinds/index.js'
import { periodBounds, type IsoDate } from '../../time/calendar.js'
import type { RegisteredJob } from '../job.js'
import { isFinished, latestSuccessTarget } from '../ledger/row-history.js'
import { targetOf } from '../runner.js'
import { preflightChecks } from './catalog.js'
import { blocking, checksOf, placesOf, runChecks, runFreshness, type CheckResult } from './run.js'

export interface RetestOutcome {
  readonly job: string
  readonly target: IsoDate | null
  /** Empty with `note` set when the partition was not checked (not built yet). */
  readonly results: readonly CheckResult[]
  readonly note?: string
}

/**
 * `etl test`: the checks of finished partitions run again without rebuilding them, each in a
 * read-only transaction: nothing is written, not even a result. For a date, the partition of each
 * job holding it; without one, each job's newest SUCCESS partition. Dimensions and table syncs
 * are checked on their current rows, freshness on their source as it is now.
 */
export async function retest(
  env: { db: Kysely<any>; config: Config; now: Date; source?: () => Promise<{ db: Kysely<any> }> },
  jobs: readonly RegisteredJob[],
  date: IsoDate | undefined,
): Promise<RetestOutcome[]> {
  const withChecks = jobs.filter((j) => checksOf(j).length > 0)
  await preflightChecks(env.db, env.config, withChecks, (job, ctx) => KINDS[job.kind].checkScope?.(ctx))
  const outcomes: RetestOutcome[] = []
  for (const job of withChecks) {
    const target = date ? targetOf(job, date) : await latestSuccessTarget(env.db, job.name)
    if (target === undefined || !(await isFinished(env.db, job.name, target))) {
      outcomes.push({ job: job.name, target: target ?? null, results: [], note: 'not built yet: no SUCCESS run' })
      continue
    }
    const bounds = target === null ? null : periodBounds(target, job.partition as 'day' | 'week' | 'month', env.config.timezone)
    const scope = KINDS[job.kind].checkScope?.({ job, target, bounds, runId: null, config: env.config, source: env.source })
    const checks = checksOf(job)
    const results: CheckResult[] = []
    for (const check of checks) if (check.type === 'freshness') results.push(await runFreshness(check, scope, env.now))
    results.push(...(await runChecks(env.db, job, checks, scope, placesOf({ target, bounds }), null)))
    outcomes.push({ job: job.name, target, results })
  }
  return outcomes
}

export const anyBlocking = (outcomes: readonly RetestOutcome[]) => outcomes.some((o) => o.results.some(blocking))
