import type { Command } from 'commander'
import { dryRunFlag, forceFlag, runJobsOfKind } from '../../cli/run-commands.js'

export function registerDimensionCommands(program: Command): void {
  program
    .command('sync-dimensions')
    .alias('dimensions')
    .description('every dimension sync job')
    .addOption(forceFlag())
    .addOption(dryRunFlag())
    .action(runJobsOfKind('dimension'))
}
