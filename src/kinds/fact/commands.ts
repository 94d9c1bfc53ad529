import type { Command } from 'commander'
import { dateFlag, dryRunFlag, forceFlag, runJobsOfKind } from '../../cli/run-commands.js'

export function registerFactCommands(program: Command): void {
  program
    .command('build-facts')
    .alias('facts')
    .description('every fact build job for a date')
    .addOption(dateFlag())
    .addOption(forceFlag())
    .addOption(dryRunFlag())
    .action(runJobsOfKind('fact'))
}
