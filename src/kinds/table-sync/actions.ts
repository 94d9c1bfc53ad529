import type { Command } from 'commander'
import pLimit from 'p-limit'
import type { RegisteredJob } from '../../engine/job.js'
import type { JobRegistry } from '../../engine/registry.js'
import { runJob } from '../../engine/runner.js'
import { EtlError } from '../../errors.js'
import type { TableSyncDefinition } from './definition.js'
import { listWatermarks, setWatermark } from './operator.js'
import type { Watermark } from './watermark.js'
import { withContext } from '../../cli/context.js'
import { print, table, timeCell } from '../../cli/options.js'
import { reportOutcomes } from '../../cli/outcomes.js'

const defOf = (job: RegisteredJob) => job.definition as unknown as TableSyncDefinition

/** A table-sync job by its name, its target, or the target with `sync_table_` in front; UNKNOWN_JOB (exit 2) otherwise. */
export function findTableJob(registry: JobRegistry, name: string): RegisteredJob {
  const jobs = registry.ofKind('table-sync')
  const job = jobs.find((j) => j.name === name) ?? jobs.find((j) => defOf(j).target === name || j.name === `sync_table_${name}`)
  if (!job) {
    const known = jobs.map((j) => j.name).join(', ') || 'none'
    throw new EtlError('UNKNOWN_JOB', `no table sync named '${name}' (table syncs: ${known}); 'etl watermarks' lists them`)
  }
  return job
}

/** `etl sync-table NAME [--full-refresh]`: one table sync through the runner, recorded in the ledger. */
export async function syncOneTable(name: string, options: { fullRefresh?: boolean }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const job = findTableJob(await ctx.registry(), name)
    const env = await ctx.runEnv()
    const outcome = await runJob(env, { job, parameters: options.fullRefresh ? { fullRefresh: true } : {} })
    reportOutcomes([outcome], env.invocationId)
  })
}

/** `etl sync-tables`: every table sync, N at once on a server (each on its own connection), one at a time on PGlite. */
export async function syncAllTables(options: { concurrency?: number }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const jobs = (await ctx.registry()).ofKind('table-sync')
    const env = await ctx.runEnv()
    const limit = pLimit(env.warehouse.concurrent ? (options.concurrency ?? 4) : 1)
    const outcomes = await Promise.all(jobs.map((job) => limit(() => runJob(env, { job }))))
    reportOutcomes(outcomes, env.invocationId)
  })
}

/** `etl watermarks [--json]` and `etl watermarks set NAME VALUE`. */
export async function watermarks(
  options: { action?: string; name?: string; value?: string; json?: boolean },
  command: Command,
): Promise<void> {
  const { action, name, value } = options
  if (action !== undefined && action !== 'set') {
    throw new EtlError('USAGE', `unknown watermarks action '${action}'; use 'etl watermarks' to list them or 'etl watermarks set NAME VALUE'`)
  }
  if (action === 'set' && (name === undefined || value === undefined)) {
    throw new EtlError('USAGE', "watermarks set needs a table sync and a value: etl watermarks set NAME VALUE")
  }
  await withContext(command, async (ctx) => {
    const registry = await ctx.registry()
    if (action === 'set') {
      const job = findTableJob(registry, name!)
      const warehouse = await ctx.connections.warehouse()
      const change = await setWatermark(warehouse, { jobName: job.name, target: defOf(job).target, incrementalColumn: defOf(job).incrementalColumn, value: value!, now: ctx.now(), warehouseSchema: ctx.config.warehouseSchema })
      print(`watermark of ${job.name} set to ${change.value} (${change.type}; was ${change.previous ?? 'unset'}); the next run reads ${defOf(job).incrementalColumn} >= it minus ${defOf(job).lookbackDays ?? 0} days`)
      return
    }
    const warehouse = await ctx.connections.warehouse()
    const marks = new Map((await listWatermarks(warehouse)).map((m) => [m.job_name, m]))
    const jobs = registry.ofKind('table-sync')
    const rows = jobs.map((j) => {
      const m = marks.get(j.name)
      marks.delete(j.name)
      return {
        job_name: j.name,
        target: defOf(j).target,
        incremental_column: defOf(j).incrementalColumn,
        last_value: m?.last_value ?? null,
        value_type: m?.value_type ?? null,
        updated_at: m?.updated_at ?? null,
        rows: m?.rows ?? null,
        set_by: m?.set_by ?? null,
      }
    })
    // watermarks of jobs whose files are gone: still shown, so they can be noticed
    for (const m of marks.values()) rows.push({ job_name: m.job_name, target: '(no job file)', incremental_column: '', ...pick(m) })
    if (options.json) return print(JSON.stringify(rows))
    if (rows.length === 0) return print('no table syncs: add table-sync job files under jobs/ or a folder of ETL_JOBS_PATH')
    print(
      table(
        ['job', 'target', 'column', 'watermark', 'updated', 'rows', 'by'],
        rows.map((r) => [
          r.job_name,
          r.target,
          r.incremental_column,
          r.last_value ?? '-',
          r.updated_at ? timeCell(r.updated_at) : 'never',
          r.rows ?? '',
          r.set_by ?? '',
        ]),
      ),
    )
  })
}

function pick(m: Watermark) {
  return { last_value: m.last_value, value_type: m.value_type, updated_at: m.updated_at, rows: m.rows, set_by: m.set_by }
}
