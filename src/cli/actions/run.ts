import type { Command } from 'commander'
import type { BackfillSummary } from '../../engine/backfill.js'
import { assertEnded, lastEndedDay } from '../../engine/ended.js'
import type { JobKind } from '../../engine/job.js'
import { pairKey } from '../../engine/ledger/index.js'
import type { RunOutcome } from '../../engine/runner.js'
import { runSequence } from '../../engine/sequence.js'
import { EtlError } from '../../errors.js'
import { dateRange, periodStart, type IsoDate } from '../../time/calendar.js'
import { defaultDate, withContext } from '../context.js'
import { interruptible } from '../interrupt.js'
import { print } from '../options.js'
import { reportOutcomes } from '../outcomes.js'
import { progressReporter } from '../progress.js'

// a backfill's and a retry's engine loads only for them, not for a cron tick's run-job
const backfillEngine = () => import('../../engine/backfill.js')
const retryEngine = () => import('../../engine/retry.js')

export interface RunOptions {
  date?: IsoDate
  force?: boolean
  jobs?: string[]
  dryRun?: boolean
}

/** The jobs `etl run` includes, or every job of one kind (`etl sync-dimensions`, `etl build-facts`). */
export type Selection = 'pipeline' | { readonly kind: JobKind }

/** `etl run` and a kind's own run command: a selection of jobs for one date, in dependency order. */
export async function runSelection(selection: Selection, options: RunOptions, command: Command): Promise<void> {
  await interruptible((interrupt) =>
    withContext(command, async (ctx) => {
      const registry = await ctx.registry()
      const jobs = options.jobs ? registry.select(options.jobs) : selection === 'pipeline' ? registry.select() : registry.ofKind(selection.kind)
      const date = defaultDate(ctx, options.date)
      if (jobs.some((j) => j.partition !== 'none')) assertEnded(jobs, date, ctx.now(), ctx.config.timezone, options.date ? '--date' : 'yesterday,')
      const env = { ...(await ctx.runEnv()), interrupt }
      const outcomes = await runSequence(env, jobs, date, { force: options.force, dryRun: options.dryRun })
      report(outcomes, env.invocationId, { dryRun: options.dryRun }, interrupt)
      return { outcomes }
    }),
  )
}

export async function runOneJob(options: RunOptions & { job: string }, command: Command): Promise<void> {
  await interruptible((interrupt) =>
    withContext(command, async (ctx) => {
      const job = (await ctx.registry()).get(options.job)
      // without --date: the latest partition of the job that has ended (last week for a weekly one)
      const date = options.date ?? lastEndedDay(job.partition, ctx.now(), ctx.config.timezone)
      if (job.partition !== 'none') assertEnded([job], date, ctx.now(), ctx.config.timezone)
      const env = { ...(await ctx.runEnv()), interrupt }
      // a sequence of one: its partitions that late rows or a rebuilt dependency made stale go first
      const outcomes = interrupt.aborted ? [] : await runSequence(env, [job], date, { force: options.force, dryRun: options.dryRun })
      report(outcomes, env.invocationId, { dryRun: options.dryRun }, interrupt)
      return { outcomes }
    }),
  )
}

/** The table of outcomes; interrupted before anything ran, the interruption's own line says it all. */
function report(outcomes: readonly RunOutcome[], invocationId: string, options: { dryRun?: boolean }, interrupt: AbortSignal): void {
  if (outcomes.length > 0 || !interrupt.aborted) reportOutcomes(outcomes, invocationId, options)
}

/** `--shard /n` (no index): the index is JOB_COMPLETION_INDEX, which must be a whole number below n. */
function shardOf(shard: { index: number | undefined; count: number }, completionIndex: string | undefined): { index: number; count: number } {
  if (shard.index !== undefined) return { index: shard.index, count: shard.count }
  if (completionIndex === undefined || !/^\d+$/.test(completionIndex)) {
    const is = completionIndex === undefined ? 'not set' : `'${completionIndex}'`
    throw new EtlError('BAD_INPUT', `--shard /${shard.count} has no shard index and JOB_COMPLETION_INDEX is ${is}; write i/n`)
  }
  if (Number(completionIndex) >= shard.count) {
    throw new EtlError('BAD_INPUT', `--shard /${shard.count} takes JOB_COMPLETION_INDEX ${completionIndex}, past the count: --shard must be i/n with 0 <= i < n`)
  }
  return { index: Number(completionIndex), count: shard.count }
}

export async function runBackfill(
  options: RunOptions & { from: IsoDate; to: IsoDate; concurrency: number; shard?: { index: number | undefined; count: number } },
  command: Command,
): Promise<void> {
  dateRange(options.from, options.to) // a reversed range is exit 2 before anything opens
  await interruptible(
    (interrupt) =>
      withContext(command, async (ctx) => {
        const shard = options.shard && shardOf(options.shard, ctx.config.completionIndex)
        const jobs = (await ctx.registry()).select(options.jobs)
        assertEnded([], options.to, ctx.now(), ctx.config.timezone, '--to')
        const env = { ...(await ctx.runEnv()), interrupt }
        const progress = progressReporter()
        // the bar goes away before anything else is printed, also when the backfill throws
        const { backfill } = await backfillEngine()
        const summary = await backfill(env, {
          from: options.from,
          to: options.to,
          jobs,
          concurrency: options.concurrency,
          shard,
          force: options.force,
          dryRun: options.dryRun,
          onPlan: (plan) => progress.start(plan.total),
          onOutcome: (o) => progress.tick(`${o.job} ${o.target ?? ''} ${o.status}`),
        }).finally(() => progress.stop())
        for (const left of summary.plan.notEnded) print(`left out ${left.job} for the ${left.partition} of ${left.target}: it has not ended yet`)
        if (summary.plan.alreadyDone > 0) {
          print(`${summary.plan.alreadyDone} (job, partition) pairs already SUCCESS were left alone (use --force to redo them)`)
        }
        report(summary.outcomes, env.invocationId, { dryRun: options.dryRun }, interrupt)
        return summary
      }),
    (summary) => resumeBackfill(summary, options.force),
  )
}

/**
 * The command that finishes an interrupted backfill: the same one, since the pairs it finished
 * are SUCCESS and left alone; with --force (which would redo them) it starts at the first day
 * with a pair not finished.
 */
function resumeBackfill(summary: BackfillSummary, force: boolean | undefined): string[] {
  const args = process.argv.slice(2)
  if (!force) return args
  const finished = new Set(summary.outcomes.filter((o) => o.status !== 'FAILED').map((o) => pairKey(o.job, o.target)))
  if (summary.plan.once.some((j) => !finished.has(pairKey(j.name, null)))) return args
  const open = summary.plan.days.find((d) => d.jobs.some((j) => !finished.has(pairKey(j.name, periodStart(d.date, j.partition as 'day')))))
  const from = open?.date ?? summary.plan.days.at(-1)?.date
  if (!from) return args
  return args.map((arg, i) => (args[i - 1] === '--from' ? from : arg.startsWith('--from=') ? `--from=${from}` : arg))
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export async function runRetry(options: { runId?: string; failed?: boolean; from?: IsoDate; to?: IsoDate }, command: Command): Promise<void> {
  if (options.runId && options.failed) throw new EtlError('USAGE', 'give either --run-id ID or --failed --from D1 --to D2, not both')
  if (!options.runId && !options.failed) throw new EtlError('USAGE', 'say what to retry: --run-id ID, or --failed --from D1 --to D2')
  if (options.runId && !UUID.test(options.runId)) {
    throw new EtlError('BAD_INPUT', `--run-id '${options.runId}' is not a run id (a UUID from 'etl status' or the end of a run)`)
  }
  if (options.failed) {
    if (!options.from || !options.to) throw new EtlError('USAGE', '--failed needs --from and --to')
    dateRange(options.from, options.to)
  }
  await interruptible((interrupt) =>
    withContext(command, async (ctx) => {
      const registry = await ctx.registry()
      const env = { ...(await ctx.runEnv()), interrupt }
      const { failedPairs, retry } = await retryEngine()
      const pairs = await failedPairs(env, options.runId ? { runId: options.runId } : { from: options.from!, to: options.to! })
      if (pairs.length === 0) {
        print('nothing to retry: no FAILED or PARTIAL runs there')
        return { outcomes: [] }
      }
      const { outcomes, unknownJobs } = await retry(env, registry, pairs)
      if (unknownJobs.length) ctx.log.warn({ unknownJobs }, 'these failed jobs no longer exist and were not retried')
      report(outcomes, env.invocationId, {}, interrupt)
      return { outcomes }
    }),
  )
}
