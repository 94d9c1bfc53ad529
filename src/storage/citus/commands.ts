import type { Command } from 'commander'

// the engine loads only when a command runs, not for --help or a flag error
const actions = () => import('./actions.js')

export function registerCitusCommands(program: Command): void {
  program
    .command('citus')
    .description('on a Citus coordinator: citus plan prints how each table is or will be distributed, before anything is changed [--json | --sql]')
    .argument('<action>', 'plan')
    .option('--json', 'print an array of rows')
    .option('--sql', 'print the statements `etl migrate up` would run now')
    .action(async (action: string, options: { json?: boolean; sql?: boolean }, command: Command) => (await actions()).citus(action, options, command))
}
