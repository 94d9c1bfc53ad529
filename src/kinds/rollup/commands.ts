import { Option, type Command } from 'commander'
import { parseMonth } from '../../time/calendar.js'
import { dateOption, positiveInt } from '../../cli/options.js'
import { METRIC_TIMEOUT_MS } from './custom/timeout.js'

// the engine loads only when a command runs, not for --help or a flag error
const actions = () => import('./actions.js')

const monthOption = (flag: string) => (value: string) => parseMonth(value, flag)
const forceFlag = () => new Option('--force', 'run partitions that are already SUCCESS again')

export function registerRollupCommands(program: Command): void {
  program
    .command('rollup')
    .description('weekly (Monday start) and monthly rollups of daily_metrics; default: the last complete week / month')
    .argument('<weekly|monthly>', 'which rollup')
    .option('--week <YYYY-MM-DD>', 'weekly: any day of the week to roll up', dateOption('--week'))
    .option('--month <YYYY-MM>', 'monthly: the month to roll up', monthOption('--month'))
    .option('--from <date>', 'a range instead: first day (weekly) or month YYYY-MM (monthly)')
    .option('--to <date>', 'a range instead: last day (weekly) or month YYYY-MM (monthly)')
    .addOption(forceFlag())
    .action(async (grain: string, options, command: Command) => (await actions()).rollup(grain, options, command))

  program
    .command('metric')
    .description('custom metric definitions: define --file F | test --file F --from D1 --to D2 | calc --name N --from D1 --to D2 [--json] | list')
    .argument('<define|test|calc|list>', 'what to do')
    .option('--file <F>', 'define/test: a definition file (JSON)')
    .option('--name <N>', 'calc: the metric’s name')
    .option('--from <YYYY-MM-DD>', 'test/calc: first day', dateOption('--from'))
    .option('--to <YYYY-MM-DD>', 'test/calc: last day (included)', dateOption('--to'))
    .option('--json', 'calc/list: print JSON')
    .option('--allow-expensive', 'run a query whose EXPLAIN cost class is high')
    .option('--statement-timeout <ms>', `test/calc: cancel the query after this many milliseconds (default ${METRIC_TIMEOUT_MS.default})`, positiveInt('--statement-timeout', METRIC_TIMEOUT_MS.max))
    .action(async (action: string, options, command: Command) => (await actions()).metric(action, options, command))
}
