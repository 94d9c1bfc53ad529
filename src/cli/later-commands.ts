import type { Command } from 'commander'
import { notImplemented } from './options.js'

/**
 * Commands of SPEC section 1 whose jobs arrive with later work. They are listed in `etl --help`
 * so scripts can be written against them now, and say plainly that they do not run yet (exit 2).
 */
const LATER: Array<{ name: string; args?: string; description: string; issue: string }> = [
  { name: 'rollup', args: '<weekly|monthly>', description: 'weekly (Monday start) and monthly rollups of daily_metrics [--week D | --month YYYY-MM]', issue: 'metrics, issue #4' },
  { name: 'series', args: '[show]', description: 'tenant time series [--company ID] [--period weekly|monthly|quarterly|yearly] [--force]; series show --company ID', issue: 'metrics, issue #4' },
  { name: 'metric', args: '<define|test|calc|list>', description: 'custom metric definitions: define --file F, test --file F --from --to, calc --name N --from --to, list', issue: 'metrics, issue #4' },
  { name: 'prices', args: '<historical|hourly|latest|show>', description: 'market prices: historical RANGE [SYMBOL...], hourly, latest, show SYMBOL', issue: 'prices, issue #5' },
  { name: 'cache', args: '<warm|stats>', description: 'metrics cache in Redis', issue: 'prices and cache, issue #5' },
  { name: 'sync-table', args: '<name>', description: 'watermark-driven incremental copy of one configured table [--full-refresh]', issue: 'table sync, issue #6' },
  { name: 'sync-tables', description: 'every configured table sync', issue: 'table sync, issue #6' },
  { name: 'watermarks', description: 'the watermarks of table syncs [--json]', issue: 'table sync, issue #6' },
  { name: 'check', description: 'alerts: failed runs, late partitions, drops in rows processed; exit 1 when any fires [--json]', issue: 'operations, issue #7' },
  { name: 'schedule', description: 'prints the crontab or the Kubernetes CronJobs for the jobs’ schedules --format crontab|k8s', issue: 'operations, issue #7' },
  { name: 'serve', description: 'admin HTTP endpoint: trigger a job, status, Prometheus metrics [--port P]', issue: 'operations, issue #7' },
]

export function registerLaterCommands(program: Command): void {
  for (const later of LATER) {
    const command = program
      .command(later.name)
      .description(`${later.description} (not available yet)`)
      .allowUnknownOption()
      .allowExcessArguments()
    if (later.args) command.argument(later.args)
    command.action(() => notImplemented(later.name, later.issue))
  }
}
