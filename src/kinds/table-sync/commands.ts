import type { Command } from 'commander'
import { positiveInt } from '../../cli/options.js'

// the engine loads only when a command runs, not for --help or a flag error
const actions = () => import('./actions.js')

export function registerSyncCommands(program: Command): void {
  program
    .command('sync-table')
    .description('watermark-driven incremental copy of one configured table (a table-sync job, by job or target name)')
    .argument('<name>', "the job (sync_table_dashboard_data) or its target (dashboard_data); 'etl watermarks' lists them")
    .option('--full-refresh', 'reload this table from scratch, ignoring its watermark (other tables are left alone)')
    .action(async (name: string, options, command: Command) => (await actions()).syncOneTable(name, options, command))

  program
    .command('sync-tables')
    .description('every configured table sync, N at once (1 on the embedded database)')
    // each sync may hold two warehouse connections (its run, and DDL outside it) of a pool of 10
    .option('--concurrency <N>', 'tables at once, at most 5 (default 4 on a server)', positiveInt('--concurrency', 5))
    .action(async (options, command: Command) => (await actions()).syncAllTables(options, command))

  program
    .command('watermarks')
    .description('the watermark of each table sync [--json]; watermarks set NAME VALUE moves one by hand')
    .argument('[action]', 'set')
    .argument('[name]', 'with set: the table sync')
    .argument('[value]', "with set: the new watermark, in the incremental column's type (2025-01-15, 2025-01-15T00:00:00Z, 1234)")
    .option('--json', 'print an array of watermarks')
    .action(async (action: string | undefined, name: string | undefined, value: string | undefined, options, command: Command) =>
      (await actions()).watermarks({ action, name, value, json: options.json }, command),
    )
}
