// `pnpm bench [--json] [--quick] [--only a,b]`: scenarios that print ours-vs-baseline ratios
// measured in the same run, so the noise of a shared machine cancels out; each the median of at
// least three repetitions, with its min–max. Needs a PostgreSQL server: BENCH_DATABASE_URL, else
// TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres. A full-size run (not
// --quick) writes its figures to bench/results.json and bench/RESULTS.md (bench/results.ts).
import { consolePages } from './console.js'
import { extractScenarios, factScenarios, historyScenario } from './facts.js'
import { ledgerRetention } from './ledger.js'
import { noopScenarios } from './noop.js'
import { pricesThroughput } from './prices.js'
import { machine, record } from './results.js'
import { seriesAllTenants } from './series.js'
import type { BenchResult } from './support.js'
import { tableSyncIncremental } from './table-sync.js'
import { tableSyncPartitioned } from './table-sync-partitioned.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const quick = args.includes('--quick')
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : undefined

// the no-op first: a minute's work, and the figure a cron tick lives by
const groups: Array<[string[], () => Promise<BenchResult | BenchResult[]>]> = [
  [['noop_server', 'noop_embedded'], () => noopScenarios()],
  [['extract_copy', 'extract_rss'], () => extractScenarios(quick)],
  [['fact_build_day', 'backfill'], () => factScenarios(quick)],
  [['rebuild_history'], () => historyScenario(quick)],
  [['series_all_tenants'], () => seriesAllTenants(quick)],
  [['table_sync_incremental', 'table_sync_scattered', 'table_sync_first_run', 'table_sync_full_load'], () => tableSyncIncremental(quick)],
  [['table_sync_partitioned', 'table_sync_partitioned_incremental'], () => tableSyncPartitioned(quick)],
  [['prices_throughput'], () => pricesThroughput()],
  [['ledger_retention'], () => ledgerRetention(quick)],
  [['console_partitions', 'console_runs', 'console_job', 'console_lineage', 'console_health', 'console_report_year'], () => consolePages(quick)],
]

const unknown = only?.filter((n) => !groups.some(([names]) => names.includes(n)))
if (unknown?.length) {
  process.stderr.write(`unknown scenario ${unknown.join(', ')}; scenarios: ${groups.flatMap(([n]) => n).join(', ')}\n`)
  process.exit(2)
}

const on = await machine()
const started = performance.now()
const all: BenchResult[] = []
for (const [names, scenario] of groups) {
  if (only && !names.some((n) => only.includes(n))) continue
  const began = performance.now()
  const results = [await scenario()].flat()
  process.stderr.write(`(${names.join(', ')}: ${((performance.now() - began) / 1000).toFixed(0)} s; ${((performance.now() - started) / 60_000).toFixed(1)} min so far)\n`)
  all.push(...results)
  for (const r of results) {
    if (json) process.stdout.write(`${JSON.stringify(r)}\n`)
    else
      process.stdout.write(
        `${r.scenario.padEnd(36)} ratio ${r.ratio.toFixed(3)} (${r.ratio_min.toFixed(3)}–${r.ratio_max.toFixed(3)}, ${r.repetitions} runs)  goal ${r.goal} ${r.met === null ? '' : r.met ? 'met' : 'NOT MET'}  ours ${r.ours_s.toFixed(3)}s  baseline ${r.baseline_s.toFixed(3)}s  rows ${r.rows}  peak ${r.peak_rss_mb} MB${r.note ? `  — ${r.note}` : ''}\n`,
      )
  }
  // each group as it ends: a later group that fails does not lose the figures already measured
  if (!quick) record(results, on)
}
