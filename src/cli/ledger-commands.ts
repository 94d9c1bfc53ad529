import type { Command } from 'commander'
import { LEDGER_TABLE } from '../engine/ledger/table.js'
import { Option } from 'commander'
import { dateOption, DEFAULT_STATUS_LIMIT, positiveInt } from './options.js'

const consoleActions = () => import('./actions/console.js')

const actions = () => import('./actions/ledger.js')

export function registerLedgerCommands(program: Command): void {
  program
    .command('status')
    .description(`recent runs from ${LEDGER_TABLE}, newest first`)
    .option('--job <name>', 'only this job')
    .option('--limit <N>', 'how many rows', positiveInt('--limit', 100_000), DEFAULT_STATUS_LIMIT)
    .option('--json', 'print an array of ledger rows with the table’s column names')
    .option('--summary', 'the daily success rate of the last 7 days instead (with --json: an array of days)')
    .option('--checks', 'the newest result of each data check instead (etl_check_results)')
    .option('--grid', 'jobs × days, each partition a letter (coloured at a terminal) of its latest state')
    .option('--from <YYYY-MM-DD>', 'with --grid: first day (default: 13 days before --to)', dateOption('--from'))
    .option('--to <YYYY-MM-DD>', 'with --grid: last day (default: yesterday)', dateOption('--to'))
    .action(async (options, command) =>
      options.grid
        ? (await consoleActions()).statusGrid(options, command)
        : options.checks
          ? (await import('./actions/checks.js')).showCheckResults(options, command)
          : (await actions()).showStatus(options, command),
    )

  program
    .command('jobs')
    .description('every registered job: name, kind, schedule, depends-on')
    .option('--json', 'print an array of jobs')
    .addOption(new Option('--graph [format]', 'the lineage graph of jobs and tables as text: mermaid or dot').choices(['mermaid', 'dot']).preset('mermaid'))
    .action(async (options, command) => (options.graph ? (await consoleActions()).jobsGraph(options.graph, command) : (await actions()).listJobs(options, command)))

  const runs = program
    .command('runs')
    .description('invocations (a run, a backfill, a retry), newest first, with their counts and run ids')
    .option('--limit <N>', 'how many invocations', positiveInt('--limit', 10_000), 20)
    .option('--json', 'print an array of invocations')
    .action(async (options, command) => (await consoleActions()).listRuns(options, command))
  runs
    .command('show <id>')
    .description("one invocation's (job, partition) pairs, oldest first, with a timeline")
    .option('--json', 'print an array of its ledger rows')
    .action(async (id, options, command) => (await consoleActions()).showRun(id, options, command))
}
