import { Option, type Command } from 'commander'
import { backfill } from '../engine/backfill.js'
import type { RegisteredJob } from '../engine/job.js'
import { failedPairs, retry } from '../engine/retry.js'
import { assertRunnable, runJob } from '../engine/runner.js'
import { runSequence } from '../engine/sequence.js'
import { EtlError } from '../errors.js'
import { dateRange, type IsoDate } from '../time/calendar.js'
import { dateOption, defaultDate, list, positiveInt, print, withContext } from './common.js'
import { reportOutcomes } from './outcomes.js'
import { progressReporter } from './progress.js'

interface RunOptions {
  date?: IsoDate
  force?: boolean
  jobs?: string[]
  dryRun?: boolean
}

const dateFlag = () => new Option('--date <YYYY-MM-DD>', 'the day to process (default: yesterday in ETL_TIMEZONE)').argParser(dateOption('--date'))
const forceFlag = () => new Option('--force', 'run partitions that are already SUCCESS again')
const dryRunFlag = () => new Option('--dry-run', 'print what would run or be skipped, and why; run and record nothing')

/** Runs a selection of jobs for one date in dependency order and reports them. */
async function runSelection(command: Command, options: RunOptions, select: (jobs: readonly RegisteredJob[]) => RegisteredJob[]) {
  await withContext(command, async (ctx) => {
    const registry = await ctx.registry()
    const jobs = options.jobs ? registry.select(options.jobs) : select(registry.jobs)
    jobs.forEach(assertRunnable)
    const env = await ctx.runEnv()
    const outcomes = await runSequence(env, jobs, defaultDate(ctx, options.date), { force: options.force, dryRun: options.dryRun })
    reportOutcomes(outcomes, env.invocationId, { dryRun: options.dryRun })
  })
}

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('the full daily pipeline for a date, in dependency order: dimensions, facts, daily metrics, custom metrics, tenant series')
    .addOption(dateFlag())
    .addOption(forceFlag())
    .option('--jobs <a,b>', 'only these jobs (comma-separated), still in dependency order', list)
    .addOption(dryRunFlag())
    .action(async (options: RunOptions, command: Command) => runSelection(command, options, (jobs) => jobs.filter((j) => j.pipeline)))

  program
    .command('sync-dimensions')
    .alias('dimensions')
    .description('every dimension sync job')
    .addOption(forceFlag())
    .addOption(dryRunFlag())
    .action(async (options: RunOptions, command: Command) => runSelection(command, options, (jobs) => jobs.filter((j) => j.kind === 'dimension')))

  program
    .command('build-facts')
    .alias('facts')
    .description('every fact build job for a date')
    .addOption(dateFlag())
    .addOption(forceFlag())
    .addOption(dryRunFlag())
    .action(async (options: RunOptions, command: Command) => runSelection(command, options, (jobs) => jobs.filter((j) => j.kind === 'fact')))

  program
    .command('run-job')
    .description('one job')
    .requiredOption('--job <name>', 'the job to run (see etl jobs)')
    .addOption(dateFlag())
    .addOption(forceFlag())
    .addOption(dryRunFlag())
    .action(async (options: RunOptions & { job: string }, command: Command) => {
      await withContext(command, async (ctx) => {
        const job = (await ctx.registry()).get(options.job)
        assertRunnable(job)
        const env = await ctx.runEnv()
        const outcome = await runJob(env, { job, date: defaultDate(ctx, options.date), force: options.force, dryRun: options.dryRun })
        reportOutcomes([outcome], env.invocationId, { dryRun: options.dryRun })
      })
    })

  program
    .command('backfill')
    .description('every (job, day) of a range, in dependency order per day, N days at once; only what is not SUCCESS yet unless --force')
    .requiredOption('--from <YYYY-MM-DD>', 'first day', dateOption('--from'))
    .requiredOption('--to <YYYY-MM-DD>', 'last day (included)', dateOption('--to'))
    .option('--jobs <a,b>', 'only these jobs (default: the daily pipeline)', list)
    .option('--concurrency <N>', 'days at once (1 on the embedded database)', positiveInt('--concurrency', 64), 1)
    .addOption(forceFlag())
    .addOption(dryRunFlag())
    .action(async (options: RunOptions & { from: IsoDate; to: IsoDate; concurrency: number }, command: Command) => {
      dateRange(options.from, options.to) // a reversed range is exit 2 before anything opens
      await withContext(command, async (ctx) => {
        const registry = await ctx.registry()
        const jobs = registry.select(options.jobs)
        const env = await ctx.runEnv()
        const progress = progressReporter()
        const summary = await backfill(env, {
          from: options.from,
          to: options.to,
          jobs,
          concurrency: options.concurrency,
          force: options.force,
          dryRun: options.dryRun,
          onPlan: (plan) => progress.start(plan.total),
          onOutcome: (o) => progress.tick(`${o.job} ${o.target ?? ''} ${o.status}`),
        })
        progress.stop()
        if (summary.plan.alreadyDone > 0) print(`${summary.plan.alreadyDone} (job, partition) pairs already SUCCESS were left alone (use --force to redo them)`)
        reportOutcomes(summary.outcomes, env.invocationId, { dryRun: options.dryRun })
      })
    })

  program
    .command('retry')
    .description('re-run exactly the failed (job, day) pairs of a run, or of a range, each with its own date')
    .option('--run-id <id>', "a run id from 'etl status' or the id printed at the end of a run")
    .option('--failed', 'every pair whose latest attempt in --from..--to failed')
    .option('--from <YYYY-MM-DD>', 'with --failed: first day', dateOption('--from'))
    .option('--to <YYYY-MM-DD>', 'with --failed: last day', dateOption('--to'))
    .action(async (options: { runId?: string; failed?: boolean; from?: IsoDate; to?: IsoDate }, command: Command) => {
      if (options.runId && options.failed) throw new EtlError('USAGE', 'give either --run-id ID or --failed --from D1 --to D2, not both')
      if (!options.runId && !options.failed) throw new EtlError('USAGE', 'say what to retry: --run-id ID, or --failed --from D1 --to D2')
      if (options.failed) {
        if (!options.from || !options.to) throw new EtlError('USAGE', '--failed needs --from and --to')
        dateRange(options.from, options.to)
      }
      await withContext(command, async (ctx) => {
        const registry = await ctx.registry()
        const env = await ctx.runEnv()
        const pairs = await failedPairs(env, options.runId ? { runId: options.runId } : { from: options.from!, to: options.to! })
        if (pairs.length === 0) {
          print('nothing to retry: no FAILED or PARTIAL runs there')
          return
        }
        const { outcomes, unknownJobs } = await retry(env, registry, pairs)
        if (unknownJobs.length) ctx.log.warn({ unknownJobs }, 'these failed jobs no longer exist and were not retried')
        reportOutcomes(outcomes, env.invocationId)
      })
    })
}
