import type { Command } from 'commander'
import { LEDGER_TABLE } from '../engine/ledger/table.js'
import { DEFAULT_STATUS_LIMIT, positiveInt } from './options.js'

const actions = () => import('./actions/ledger.js')

export function registerLedgerCommands(program: Command): void {
  program
    .command('status')
    .description(`recent runs from ${LEDGER_TABLE}, newest first`)
    .option('--job <name>', 'only this job')
    .option('--limit <N>', 'how many rows', positiveInt('--limit', 100_000), DEFAULT_STATUS_LIMIT)
    .option('--json', 'print an array of ledger rows with the table’s column names')
    .option('--summary', 'the daily success rate of the last 7 days instead (with --json: an array of days)')
    .action(async (options, command) => (await actions()).showStatus(options, command))

  program
    .command('jobs')
    .description('every registered job: name, kind, schedule, depends-on')
    .option('--json', 'print an array of jobs')
    .action(async (options, command) => (await actions()).listJobs(options, command))
}
