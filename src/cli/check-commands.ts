import { Option, type Command } from 'commander'
import { dateOption, list } from './options.js'

const actions = () => import('./actions/checks.js')

/** `etl test`: the data checks of finished partitions, again, read-only (docs/checks.md). */
export function registerCheckCommands(program: Command): void {
  program
    .command('test')
    .description("a job's data checks on finished partitions, again and read-only; exit 1 if an error-level check fails")
    .option('--jobs <a,b>', 'only these jobs (default: every job with checks)', list)
    .addOption(new Option('--date <YYYY-MM-DD>', "the partition holding this day (default: each job's newest SUCCESS partition)").argParser(dateOption('--date')))
    .option('--json', 'print an array of { job, partition, check, severity, status, failingRows, sample, message }')
    .action(async (options, command) => (await actions()).runTest(options, command))
}
