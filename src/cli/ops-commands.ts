import { InvalidArgumentError, Option, type Command } from 'commander'
import { dateOption, positiveInt } from './options.js'

// the ops code (kysely, http, YAML) loads only when one of these commands runs
const actions = () => import('./actions/ops.js')

/** --min-ratio: a fraction in (0, 1]. */
function fraction(value: string): number {
  const n = Number(value)
  if (!/^\d*\.?\d+$/.test(value) || !(n > 0 && n <= 1)) throw new InvalidArgumentError('must be a fraction above 0 and at most 1, such as 0.5')
  return n
}

function port(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('must be a port number from 0 to 65535 (0: any free port)')
  return Number(value)
}

export function registerOpsCommands(program: Command): void {
  program
    .command('check')
    .description('alerts: failed runs, partitions late past their deadline, drops in rows processed; exit 1 when any fires')
    .option('--json', 'print {ok, alerts, thresholds} as JSON')
    .option('--hours <N>', 'failed or PARTIAL runs that started within the last N hours', positiveInt('--hours', 8_760), 24)
    .option('--min-ratio <fraction>', 'alert when the latest partition processed fewer rows than this fraction of the median before it', fraction, 0.5)
    .option('--runs <N>', 'how many partitions before the latest make that median', positiveInt('--runs', 100), 7)
    .action(async (options, command) => (await actions()).check(options, command))

  program
    .command('schedule')
    .description('prints the crontab or the Kubernetes CronJobs for the registered jobs’ schedules --format crontab|k8s')
    .addOption(new Option('--format <format>', 'crontab | k8s').choices(['crontab', 'k8s']))
    .option('--out <path>', 'write to this file (crontab) or folder (k8s: one file per object, stale generated files removed) instead of stdout')
    .option('--image <ref>', 'k8s: the image built from the Dockerfile', 'nightshift:latest')
    .option('--home <dir>', 'crontab: where nightshift is installed (ETL_HOME)', '/opt/nightshift')
    .option('--write', 'regenerate this repository’s crontab.example and k8s/ from the built-in jobs, for UTC, with the defaults')
    .action(async (options, command) => (await actions()).schedule(options, command))

  program
    .command('report')
    .description('the run console (partitions, runs, jobs, lineage, health) as one self-contained HTML file that opens offline')
    .requiredOption('--out <file>', 'the HTML file to write')
    .option('--from <YYYY-MM-DD>', 'first day of the partitions grid (default: 29 days before --to)', dateOption('--from'))
    .option('--to <YYYY-MM-DD>', 'last day of the partitions grid (default: yesterday)', dateOption('--to'))
    .action(async (options, command) => (await import('./actions/console.js')).report(options, command))

  program
    .command('docs')
    .description('the warehouse catalog as Markdown: tables, columns, the job that writes each, partitioning, retention --out FILE')
    .option('--out <file>', "where to write it (docs/catalog.md); '-' prints it")
    .action(async (options, command) => (await actions()).docs(options, command))

  program
    .command('serve')
    .description('admin HTTP endpoint and the run console pages (/console): trigger a job, status, Prometheus metrics [--port P]; needs ETL_ADMIN_TOKEN')
    .option('--port <P>', 'port to listen on (0: any free port)', port, 8080)
    .option('--host <address>', 'address to listen on (0.0.0.0 in a container)', '127.0.0.1')
    .option('--exit-after <seconds>', 'stop by itself after this many seconds (tests, one-off use)', positiveInt('--exit-after', 31_536_000))
    .action(async (options, command) => (await actions()).serve(options, command))
}
