// Scenario `console_pages`: the run console on a year of the built-in jobs' history (≈ 11,000
// ledger rows: a nightly run of the daily pipeline, four table syncs a day, weekly and monthly
// rollups, 3% failures each retried). For each page, the time `etl serve` takes to answer it:
// read the model (src/console/model/load.ts) and render the HTML. The goal is absolute: 300 ms a
// page, so the baseline is that budget and the ratio is ours / 0.3 s (≤ 1 meets it).
// `node --import tsx bench/console.ts [--quick]` prints one JSON line per page.
import { sql } from 'kysely'
import { liveLinks } from '../src/console/links.js'
import { loadConsole } from '../src/console/model/load.js'
import { renderPage, renderReport, type PageName } from '../src/console/render.js'
import { migrateUp } from '../src/db/migrate.js'
import { openPostgres } from '../src/db/postgres.js'
import { loadRegistry } from '../src/engine/registry.js'
import { builtinJobsDir } from '../src/paths.js'
import { result, scratchDatabase, seconds, type BenchResult } from './support.js'

const NOW = new Date('2026-06-30T09:00:00Z')
const BUDGET_S = 0.3

export async function consolePages(quick = false): Promise<BenchResult[]> {
  const scratch = await scratchDatabase('console')
  const database = await openPostgres({ url: scratch.url, role: 'warehouse' })
  const db = database.db
  try {
    await migrateUp(database, 'public')
    const registry = await loadRegistry([builtinJobsDir])
    const daily = registry.jobs.filter((j) => j.pipeline && j.partition === 'day').map((j) => j.name)
    const unpartitioned = registry.jobs.filter((j) => j.pipeline && j.partition === 'none').map((j) => j.name)
    const syncs = registry.jobs.filter((j) => j.kind === 'table-sync').map((j) => j.name).slice(0, 4)
    // one invocation a night: the dimensions, then each daily job for yesterday; 3% fail and are retried an hour later by another invocation
    await sql`
      with nights as (
        select d::date as day, md5(d::text)::uuid as inv, md5('retry' || d::text)::uuid as retry_inv, d + interval '2 hours' as at
        from generate_series(${NOW}::timestamptz - interval '365 days', ${NOW}::timestamptz - interval '1 day', interval '1 day') d
      ), pairs as (
        select n.*, j.name, j.ord, (hashtext(n.day::text || j.name) % 100 + 100) % 100 < 3 as fails
        from nights n cross join unnest(${sql.val([...unpartitioned, ...daily])}::text[]) with ordinality as j(name, ord)
      )
      insert into etl_job_runs (invocation_id, job_name, run_date, target_date, status, rows_processed, started_at, completed_at, duration_ms, attempt, error_message, parameters)
      select inv, name, day + 1, case when name = any(${sql.val(unpartitioned)}::text[]) then null else day end,
             case when fails then 'FAILED' else 'SUCCESS' end, case when fails then 0 else 1000 + ord * 37 end,
             at + make_interval(secs => ord * 20), at + make_interval(secs => ord * 20 + 15), 15000, 1,
             case when fails then 'connection reset by peer' end, '{}'::jsonb
      from pairs
      union all
      select retry_inv, name, day + 1, case when name = any(${sql.val(unpartitioned)}::text[]) then null else day end, 'SUCCESS', 1000 + ord * 37,
             at + interval '1 hour', at + interval '1 hour 15 seconds', 15000, 2, null, '{}'::jsonb
      from pairs where fails
      union all
      select md5('sync' || h::text)::uuid, s.name, h::date, null, 'SUCCESS', 500, h, h + interval '10 seconds', 10000, 1, null, '{}'::jsonb
      from generate_series(${NOW}::timestamptz - interval '365 days', ${NOW}::timestamptz, interval '6 hours') h, unnest(${sql.val(syncs)}::text[]) s(name)
      union all
      select md5('week' || w::text)::uuid, 'aggregate_weekly_metrics', w::date + 7, w::date, 'SUCCESS', 900, w + interval '7 days 4 hours', w + interval '7 days 4 hours 30 seconds', 30000, 1, null, '{}'::jsonb
      from generate_series(date_trunc('week', ${NOW}::timestamptz - interval '365 days'), ${NOW}::timestamptz - interval '8 days', interval '7 days') w
      union all
      select md5('month' || m::text)::uuid, 'aggregate_monthly_metrics', (m + interval '1 month')::date + 1, m::date, 'SUCCESS', 3000, m + interval '1 month 1 day 5 hours', m + interval '1 month 1 day 5 hours 1 minute', 60000, 1, null, '{}'::jsonb
      from generate_series(date_trunc('month', ${NOW}::timestamptz - interval '365 days'), ${NOW}::timestamptz - interval '2 months', interval '1 month') m`.execute(db)
    await sql`vacuum analyze etl_job_runs`.execute(db)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from etl_job_runs`.execute(db)
    const ledgerRows = rows[0]!.n

    const options = { db, registry, now: NOW, timezone: 'UTC' }
    const pages: Array<[string, PageName, string | undefined]> = [
      ['partitions', 'partitions', undefined],
      ['runs', 'runs', undefined],
      ['job', 'job', 'build_fact_sessions'],
      ['lineage', 'lineage', undefined],
      ['health', 'health', undefined],
    ]
    const reps = quick ? 3 : 7
    const out: BenchResult[] = []
    let bytes = 0
    for (const [name, page, job] of pages) {
      const times: number[] = []
      // one unmeasured pass: the first query plans and the uPlot file read are not what a page costs
      const load = () => loadConsole({ ...options, page, job })
      await renderPage(await load(), { links: liveLinks, csrf: 'x' }, page, { job })
      for (let i = 0; i < reps; i++) {
        const t = await seconds(async () => renderPage(await load(), { links: liveLinks, csrf: 'x' }, page, { job }))
        times.push(t.s)
        bytes = t.value.length
      }
      out.push(
        result({
          scenario: `console_${name}`,
          ours: times,
          baseline: times.map(() => BUDGET_S),
          rows: ledgerRows,
          peak_rss_mb: process.memoryUsage().rss / 1048576,
          goal: { max: 1 },
          note: `the ${name} page (read + render, ${(bytes / 1024).toFixed(0)} KB) on ${ledgerRows} ledger rows, against the 300 ms budget`,
        }),
      )
    }
    // the report holds every page and every job's: a file written once, no budget
    const year = { ...options, from: '2025-07-01', to: '2026-06-29' }
    const report = await seconds(async () => renderReport(await loadConsole(year)))
    out.push(
      result({
        scenario: 'console_report_year',
        ours: [report.s],
        baseline: [BUDGET_S],
        rows: ledgerRows,
        peak_rss_mb: process.memoryUsage().rss / 1048576,
        goal: null,
        note: `etl report over the whole year (365-day grid, ${registry.jobs.length} job pages): ${(report.value.length / 1048576).toFixed(1)} MB`,
      }),
    )
    return out
  } finally {
    await database.close()
    await scratch.drop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await consolePages(process.argv.includes('--quick'))) process.stdout.write(`${JSON.stringify(r)}\n`)
}
