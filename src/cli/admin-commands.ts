import type { Command } from 'commander'
import { positiveInt } from './options.js'

const actions = () => import('./actions/admin.js')
const demoAction = () => import('./actions/demo.js')

export function registerAdminCommands(program: Command): void {
  program
    .command('migrate')
    .description('warehouse schema migrations from migrations/: up (apply all), down (roll back the last), redo (down then up), list')
    .argument('<action>', 'up|down|redo|list')
    .action(async (action: string, _options: unknown, command: Command) => (await actions()).migrate(action, command))

  program
    .command('demo')
    .description('fills the source with deterministic demo data (if empty), migrates, runs the pipeline for the recent days and prints the status table')
    .option('--scale <size>', 'small | medium | large', 'small')
    .option('--seed <N>', 'random seed: the same seed gives the same rows', positiveInt('--seed', 2 ** 31 - 1), 42)
    .option('--days <N>', 'how many recent days to run the pipeline for', positiveInt('--days', 366), 3)
    .action(async (options, command) => (await demoAction()).demo(options, command))
}
