import type { Command } from 'commander'
import type { Database } from '../../db/database.js'
import type { EtlContext } from '../../engine/context.js'
import { dailySuccessRate, percent, recentRuns, type DailyRate } from '../../engine/ledger/index.js'
import { redact } from '../../redact.js'
import { withContext } from '../context.js'
import type { JobRegistry } from '../../engine/registry.js'
import { oneLine, print, setExitCode, table, timeCell } from '../options.js'

export async function showStatus(options: { job?: string; limit: number; json?: boolean; summary?: boolean }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    if (options.job) (await ctx.registry()).get(options.job)
    const warehouse = await ctx.connections.warehouse()
    // the daily success rate: alone with --summary, and under the runs on a terminal
    if (options.summary) {
      const days = await dailySuccessRate(warehouse.db, { now: ctx.now(), timezone: ctx.config.timezone, jobName: options.job })
      print(options.json ? JSON.stringify(days) : successRateTable(days))
      return
    }
    if (options.json) {
      const rows = await recentRuns(warehouse.db, { jobName: options.job, limit: options.limit })
      print(JSON.stringify(rows.map((r) => ({ ...r, error_message: r.error_message && redact(r.error_message) }))))
      return
    }
    await printStatus(ctx, warehouse, options)
  })
}

/**
 * What `etl status` prints: the latest ledger rows, newest first, and under them at a terminal
 * the daily success rate; `etl demo` ends with the same.
 */
export async function printStatus(ctx: EtlContext, warehouse: Database, options: { job?: string; limit: number }): Promise<void> {
  const rows = await recentRuns(warehouse.db, { jobName: options.job, limit: options.limit })
  if (rows.length === 0) {
    print('no runs recorded yet')
    return
  }
  print(
    table(
      ['started', 'job', 'partition', 'status', 'rows', 'ms', 'attempt', 'run id', 'message'],
      rows.map((r) => [
        timeCell(r.started_at),
        r.job_name,
        r.target_date ?? '-',
        r.status,
        r.rows_processed,
        r.duration_ms,
        r.attempt,
        // the run id is the command's (invocation_id), the one `etl retry --run-id` takes; not the row's own id
        r.invocation_id ?? '-',
        r.error_message ? oneLine(redact(r.error_message)) : '',
      ]),
    ),
  )
  if (process.stdout.isTTY) {
    const days = await dailySuccessRate(warehouse.db, { now: ctx.now(), timezone: ctx.config.timezone, jobName: options.job })
    print(`\n${successRateTable(days)}`)
  }
}

function successRateTable(days: DailyRate[]): string {
  return table(
    ['day', 'success rate', 'success', 'failed', 'partial', 'skipped', 'running'],
    days.map((d) => [d.date, percent(d.success_rate), d.success, d.failed, d.partial, d.skipped, d.running]),
  )
}

export async function listJobs(options: { json?: boolean }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const registry = await ctx.registry({ warnBroken: false })
    reportBroken(registry)
    const jobs = registry.jobs.map((j) => ({
      name: j.name,
      kind: j.kind,
      partition: j.partition,
      schedule: j.schedule ?? null,
      timezone: j.timezone,
      dependsOn: j.dependsOn,
      pipeline: j.pipeline,
      file: j.file,
    }))
    if (options.json) return print(JSON.stringify(jobs))
    if (jobs.length === 0) return print('no jobs registered: add job files under jobs/ or a folder of ETL_JOBS_PATH')
    print(
      table(
        ['job', 'kind', 'partition', 'schedule', 'zone', 'depends on', 'in run'],
        jobs.map((j) => [j.name, j.kind, j.partition, j.schedule ?? '-', j.timezone, j.dependsOn.join(',') || '-', j.pipeline ? 'yes' : 'no']),
      ),
    )
  })
}

/** Broken job files go to stderr, one line each, and make `etl jobs` exit 2: the listing is incomplete. */
function reportBroken(registry: JobRegistry): void {
  for (const b of registry.broken) process.stderr.write(`etl: job '${b.name}' is left out: ${b.error.message}\n`)
  if (registry.broken.length) setExitCode(2)
}
