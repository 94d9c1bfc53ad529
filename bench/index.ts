// `pnpm bench [--json] [--quick] [--only a,b]`: scenarios that print ours-vs-baseline ratios
// measured in the same run, so the noise of a shared machine cancels out. Needs a PostgreSQL
// server: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
import { extractScenarios, factScenarios, historyScenario } from './facts.js'
import { ledgerRetention } from './ledger.js'
import { pricesThroughput } from './prices.js'
import { seriesAllTenants } from './series.js'
import { tableSyncIncremental } from './table-sync.js'
import { tableSyncPartitioned } from './table-sync-partitioned.js'
import type { BenchResult } from './support.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const quick = args.includes('--quick')
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : undefined

const groups: Array<[string[], () => Promise<BenchResult | BenchResult[] | Record<string, unknown>>]> = [
  [['extract_copy', 'extract_rss'], () => extractScenarios(quick)],
  [['fact_build_day', 'backfill_30d'], () => factScenarios(quick)],
  [['rebuild_history'], () => historyScenario(quick)],
  [['series_all_tenants'], () => seriesAllTenants(quick)],
  [['table_sync_incremental'], () => tableSyncIncremental(quick)],
  [['table_sync_partitioned'], () => tableSyncPartitioned(quick)],
  [['prices_throughput'], () => pricesThroughput()],
  [['ledger_retention'], () => ledgerRetention(quick)],
]

for (const [names, scenario] of groups) {
  if (only && !names.some((n) => only.includes(n))) continue
  const results = [await scenario()].flat() as BenchResult[]
  for (const r of results) {
    // scenarios that are not a plain ours-vs-baseline ratio (prices_throughput) print their own fields
    if (json || typeof r.ours_s !== 'number') process.stdout.write(`${JSON.stringify(r)}\n`)
    else
      process.stdout.write(
        `${r.scenario.padEnd(18)} ours ${r.ours_s.toFixed(3)}s  baseline ${r.baseline_s.toFixed(3)}s  ratio ${r.ratio.toFixed(3)}  (goal ${r.goal ?? '-'})  rows ${r.rows}  peak ${r.peak_rss_mb} MB${r.note ? `  — ${r.note}` : ''}\n`,
      )
  }
}
