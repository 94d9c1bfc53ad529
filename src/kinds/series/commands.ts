import { Option, type Command } from 'commander'
import { EtlError } from '../../errors.js'
import { dateOption, positiveInt } from '../../cli/options.js'

// the engine loads only when a command runs, not for --help or a flag error
const actions = () => import('./actions.js')

const forceFlag = () => new Option('--force', 'run partitions that are already SUCCESS again')

export function registerSeriesCommands(program: Command): void {
  program
    .command('series')
    .description('tenant time series for every active tenant or one [--company ID] [--period P] [--date D] [--force]; `series show --company ID [--period P] [--json]` prints chart rows')
    .argument('[show]', 'print a tenant’s chart rows instead of computing them')
    .option('--company <ID>', 'one tenant id (a positive integer)')
    .option('--date <YYYY-MM-DD>', 'the windows ending on this day instead of today (history)', dateOption('--date'))
    .option('--period <P>', 'weekly | monthly | quarterly | yearly (default: all; show: monthly)')
    .option('--concurrency <N>', 'tenants at once on a server (1 on the embedded database)', positiveInt('--concurrency', 64))
    .option('--json', 'show: print JSON')
    .addOption(forceFlag())
    .action(async (action: string | undefined, options, command: Command) => {
      if (action !== undefined && action !== 'show') throw new EtlError('USAGE', `unknown series action '${action}'; use 'etl series' or 'etl series show'`)
      const mod = await actions()
      return action === 'show' ? mod.seriesShow(options, command) : mod.seriesRun(options, command)
    })
}
