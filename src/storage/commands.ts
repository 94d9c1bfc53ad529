import type { Command } from 'commander'

// the engine loads only when a command runs, not for --help or a flag error
const actions = () => import('./actions.js')

export function registerStorageCommands(program: Command): void {
  program
    .command('storage')
    .description("the storage policy of each time-partitioned table [--json]; storage set-retention TABLE INTERVAL|forever changes one")
    .argument('[action]', 'set-retention')
    .argument('[table]', "with set-retention: the table ('etl storage' lists them)")
    .argument('[retention]', "with set-retention: '90 days', '6 months', '2 years' or 'forever'")
    .option('--json', 'print an array of policies')
    .action(async (action: string | undefined, table: string | undefined, retention: string | undefined, options, command: Command) =>
      (await actions()).storage({ action, table, retention, json: options.json }, command),
    )
}
