import { InvalidArgumentError, Option, type Command } from 'commander'
import type { JobKind } from '../engine/job.js'
import type { RunOptions, Selection } from './actions/run.js'
import { dateOption, list, positiveInt } from './options.js'

// the engine loads only when a command runs, not for --help or a flag error
const actions = () => import('./actions/run.js')

export const dateFlag = () => new Option('--date <YYYY-MM-DD>', 'the day to process (default: yesterday in ETL_TIMEZONE)').argParser(dateOption('--date'))
export const forceFlag = () => new Option('--force', 'run partitions that are already SUCCESS again')
export const dryRunFlag = () => new Option('--dry-run', 'print what would run or be skipped, and why; run and record nothing')
const select = (selection: Selection) => async (options: RunOptions, command: Command) =>
  (await actions()).runSelection(selection, options, command)

/** The action of a kind's "every job of this kind for a date" command (`etl sync-dimensions`): like `etl run`, for the kind's jobs. */
export const runJobsOfKind = (kind: JobKind) => select({ kind })

export function registerRunCommands(program: Command): void {
  program
    .command('run')
    .description('the full daily pipeline for a date, in dependency order: dimensions, facts, daily metrics, custom metrics, tenant series')
    .addOption(dateFlag())
    .addOption(forceFlag())
    .option('--jobs <a,b>', 'only these jobs (comma-separated), still in dependency order', list)
    .addOption(dryRunFlag())
    .action(select('pipeline'))

  program
    .command('run-job')
    .description('one job')
    .requiredOption('--job <name>', 'the job to run (see etl jobs)')
    .addOption(dateFlag())
    .addOption(forceFlag())
    .addOption(dryRunFlag())
    .action(async (options, command) => (await actions()).runOneJob(options, command))

  program
    .command('backfill')
    .description('every (job, day) of a range, in dependency order per day, N days at once; only what is not SUCCESS yet unless --force')
    .requiredOption('--from <YYYY-MM-DD>', 'first day', dateOption('--from'))
    .requiredOption('--to <YYYY-MM-DD>', 'last day (included)', dateOption('--to'))
    .option('--jobs <a,b>', 'only these jobs (default: the daily pipeline)', list)
    .option('--concurrency <N>', 'days at once (1 on the embedded database)', positiveInt('--concurrency', 64), 1)
    .option('--shard <i/n>', 'only shard i (0-based) of n contiguous slices of the days; i defaults to JOB_COMPLETION_INDEX (--shard /4)', shardOption)
    .addOption(forceFlag())
    .addOption(dryRunFlag())
    .action(async (options, command) => (await actions()).runBackfill(options, command))

  program
    .command('retry')
    .description('re-run exactly the failed (job, day) pairs of a run, or of a range, each with its own date')
    .option('--run-id <id>', "a run id: the 'run id' column of 'etl status', or the id printed at the end of a command")
    .option('--failed', 'every pair whose latest attempt in --from..--to failed')
    .option('--from <YYYY-MM-DD>', 'with --failed: first day', dateOption('--from'))
    .option('--to <YYYY-MM-DD>', 'with --failed: last day', dateOption('--to'))
    .action(async (options, command) => (await actions()).runRetry(options, command))
}

/**
 * --shard i/n: 0 <= i < n. Without i (`/n`) the index is JOB_COMPLETION_INDEX, as in a Kubernetes
 * Indexed Job: config.ts reads it, and the backfill action checks it (cli/actions/run.ts).
 */
function shardOption(value: string): { index: number | undefined; count: number } {
  const match = /^(\d*)\/(\d+)$/.exec(value)
  const index = match?.[1] === '' ? undefined : Number(match?.[1])
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 1000 || (index !== undefined && index >= Number(match[2]))) {
    throw new InvalidArgumentError('must be i/n with 0 <= i < n <= 1000, such as 0/4')
  }
  return { index, count: Number(match[2]) }
}
