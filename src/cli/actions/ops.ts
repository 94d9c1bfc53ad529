import fs from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import { loadRegistry } from '../../engine/registry.js'
import { EtlError } from '../../errors.js'
import { checkedInArtifacts, writeManifests } from '../../ops/artifacts.js'
import { readCatalog, renderCatalog } from '../../ops/catalog.js'
import { brokenJobAlerts, runChecks, type Alert } from '../../ops/check.js'
import { DEFAULT_LOG_DIR, renderCrontab } from '../../ops/crontab.js'
import { k8sManifests, renderK8s, renderManifestFiles } from '../../ops/k8s.js'
import { planSchedule } from '../../ops/schedule.js'
import { startAdminServer } from '../../ops/serve.js'
import { builtinJobsDir, packageRoot } from '../../paths.js'
import { withContext } from '../context.js'
import { assertOutFolder, print, setExitCode, table } from '../options.js'

export async function check(options: { json?: boolean; hours: number; minRatio: number; runs: number }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const registry = await ctx.registry({ warnBroken: false })
    const warehouse = await ctx.connections.warehouse()
    const thresholds = { hours: options.hours, minRatio: options.minRatio, runs: options.runs }
    const now = ctx.now()
    const alerts = [...brokenJobAlerts(registry), ...(await runChecks(warehouse.db, registry.jobs, { now, ...thresholds }))]
    if (options.json) {
      print(JSON.stringify({ ok: alerts.length === 0, checkedAt: now.toISOString(), thresholds, alerts }))
    } else if (alerts.length === 0) {
      print(`ok: no alerts (failed runs in the last ${options.hours}h, deadlines, rows below ${options.minRatio} × the median of ${options.runs} partitions)`)
    } else {
      print(table(['alert', 'job', 'partition', 'message'], alerts.map((a: Alert) => [a.type, a.job, a.partition ?? '-', a.message])))
      print(`${alerts.length} alert${alerts.length === 1 ? '' : 's'}`)
    }
    if (alerts.length) setExitCode(1)
  })
}

export async function schedule(
  options: { format?: 'crontab' | 'k8s'; out?: string; image: string; home: string; write?: boolean },
  command: Command,
): Promise<void> {
  if (options.write) {
    if (options.format || options.out) throw new EtlError('USAGE', '--write regenerates both crontab.example and k8s/; leave out --format and --out')
    // the built-in jobs only: ETL_JOBS_PATH and ETL_TIMEZONE of whoever regenerates must not leak in
    const artifacts = checkedInArtifacts((await loadRegistry([builtinJobsDir])).jobs)
    fs.writeFileSync(path.join(packageRoot, 'crontab.example'), artifacts.crontab)
    writeManifests(path.join(packageRoot, 'k8s'), artifacts.k8s)
    print(`wrote crontab.example and ${artifacts.k8s.length} files in k8s/ under ${packageRoot}`)
    return
  }
  if (!options.format) throw new EtlError('USAGE', "say which: 'etl schedule --format crontab' or 'etl schedule --format k8s'")
  await withContext(command, async (ctx) => {
    const timezone = ctx.config.timezone
    const plan = planSchedule((await ctx.registry()).jobs, { timezone })
    if (options.format === 'crontab') {
      const text = renderCrontab(plan, { home: options.home, logDir: DEFAULT_LOG_DIR, timezone })
      if (options.out) fs.writeFileSync(options.out, text)
      else process.stdout.write(text)
      return
    }
    const manifests = k8sManifests(plan, { image: options.image, timezone })
    if (options.out) {
      const files = renderManifestFiles(manifests)
      writeManifests(options.out, files)
      print(`wrote ${files.length} files in ${options.out}`)
    } else {
      process.stdout.write(renderK8s(manifests))
    }
  })
}

export async function serve(options: { port: number; host: string; exitAfter?: number }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const token = ctx.config.adminToken
    if (!token) throw new EtlError('CONFIG', 'ETL_ADMIN_TOKEN is not set: etl serve will not start without a bearer token; set it to a long random string')
    await ctx.connections.warehouse() // unreachable or unmigrated: exit 3 now, not on the first request
    const server = await startAdminServer(ctx, { host: options.host, port: options.port, token })
    print(`etl serve: listening on ${server.url}`)
    await new Promise<void>((resolve) => {
      const stop = () => resolve()
      process.once('SIGTERM', stop)
      process.once('SIGINT', stop)
      if (options.exitAfter) setTimeout(stop, options.exitAfter * 1000).unref()
    })
    await server.close()
    ctx.log.info('etl serve: stopped')
  })
}

/**
 * `etl docs --out FILE`: the catalog of the warehouse as it is (migrated, and after the jobs that
 * create their tables have run). `--out -` prints it; no `--out` is a usage error, so a cron line
 * or CI step that forgot the file fails instead of printing a page nobody reads.
 */
export async function docs(options: { out?: string }, command: Command): Promise<void> {
  const out = options.out
  if (!out) throw new EtlError('USAGE', "say where the catalog goes: 'etl docs --out docs/catalog.md' (or '--out -' to print it)")
  if (out !== '-') assertOutFolder(out)
  await withContext(command, async (ctx) => {
    const registry = await ctx.registry()
    const warehouse = await ctx.connections.warehouse()
    const schema = ctx.config.warehouseSchema
    const text = renderCatalog(await readCatalog(warehouse.db, schema, registry.jobs), schema)
    if (out === '-') return void process.stdout.write(text)
    fs.writeFileSync(out, text)
    print(`wrote the catalog of ${text.split('\n').filter((l) => l.startsWith('## ')).length} tables to ${out}`)
  })
}
