// Scenario `table_sync_incremental`: a 5M-row source table (500k with --quick), 1 % of it
// changed since the last sync. Ours: the incremental run (watermark − 7 days lookback, staged,
// upserted) against the baseline: a --full-refresh of the same table. The 1 % is every 100th key
// (a change on nearly every page: the worst case); `clustered_ratio` is the same with one
// contiguous 1 % of the keys. Also measured: the full
// load's rows/s against a raw `COPY … TO STDOUT | COPY … FROM STDIN` pipe into the same kind of
// table (goal ≥ 0.8). `node --import tsx bench/table-sync.ts [--quick]` prints one JSON line;
// bench/index.ts can import `tableSyncIncremental`.
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import { loadConfig } from '../src/config.js'
import { migrateUp } from '../src/db/migrate.js'
import { openPostgres } from '../src/db/postgres.js'
import { validateJob } from '../src/engine/registry.js'
import { newInvocationId, runJob, type RunEnv } from '../src/engine/runner.js'
import { silentLogger } from '../src/log.js'
import { result, round, scratchDatabase, seconds, type BenchResult } from './support.js'

const NOW = new Date('2025-06-30T12:00:00Z')

export async function tableSyncIncremental(quick = false): Promise<BenchResult> {
  const rows = quick ? 500_000 : 5_000_000
  const source = await scratchDatabase('tsync_src')
  const target = await scratchDatabase('tsync_wh')
  const src = await openPostgres({ url: source.url, role: 'oltp' })
  const wh = await openPostgres({ url: target.url, role: 'warehouse' })
  try {
    await migrateUp(wh, 'public')
    // two years of history, none of it in the last month; updated_at indexed, as a synced table should be
    await src.exec(`
      create table events (id bigint primary key, account_id integer not null, amount numeric(12,2) not null,
                           status text not null, updated_at timestamptz not null);
      insert into events
      select g, g % 9973, (g % 100000) / 100.0, (array['new','paid','void'])[1 + g % 3],
             '${NOW.toISOString()}'::timestamptz - interval '30 days' - (g % 700) * interval '1 day' - (g % 86400) * interval '1 second'
      from generate_series(1, ${rows}) g;
      create index events_updated_at on events (updated_at);
      analyze events;`)
    const config = loadConfig({ WAREHOUSE_DATABASE_URL: target.url, OLTP_DATABASE_URL: source.url, LOG_LEVEL: 'warn' })
    const env: RunEnv = { config, log: silentLogger, warehouse: wh, source: async () => src, invocationId: newInvocationId(), now: () => NOW }
    const job = validateJob(
      {
        kind: 'table-sync',
        name: 'sync_table_events',
        source: { table: 'public.events' },
        target: 'events',
        primaryKey: ['id'],
        incrementalColumn: 'updated_at',
        lookbackDays: 7,
      },
      'bench/sync_table_events.ts',
    )
    const sync = async (parameters: Record<string, unknown> = {}) => {
      const outcome = await runJob(env, { job, parameters })
      if (outcome.status !== 'SUCCESS') throw new Error(`sync ${outcome.status}: ${outcome.message}`)
      return outcome
    }

    await sync() // creates the target and loads it: the state every later run starts from
    const full = await seconds(() => sync({ fullRefresh: true }))

    // the raw pipe into an empty table of the same shape (primary key included)
    await wh.exec('create table events_raw (like events including all)')
    const raw = await seconds(async () => {
      const a = new pg.Client({ connectionString: source.url })
      const b = new pg.Client({ connectionString: target.url })
      await a.connect()
      await b.connect()
      try {
        await pipeline(a.query(copyTo('copy (select * from events) to stdout')), b.query(copyFrom('copy events_raw from stdin')))
      } finally {
        await a.end()
        await b.end()
      }
    })

    // 1 % of the rows change now
    await src.exec(`update events set amount = amount + 1, status = 'paid', updated_at = '${NOW.toISOString()}'::timestamptz - interval '1 hour' where id % 100 = 0`)
    const incremental = await seconds(() => sync())
    const changed = incremental.value.result
    // the same 1 %, but one contiguous range of keys (recent rows, as in time-series tables): far fewer pages to rewrite
    await src.exec(`update events set amount = amount + 1, updated_at = '${NOW.toISOString()}'::timestamptz - interval '30 minutes' where id > ${rows - rows / 100}`)
    const clustered = await seconds(() => sync())
    const fullRatio = raw.s / full.s
    return {
      ...result({
        scenario: 'table_sync_incremental',
        ours_s: incremental.s,
        baseline_s: full.s,
        rows,
        peak_rss_mb: process.resourceUsage().maxRSS / 1024,
        goal: 'ratio ≤ 0.05; full load ≥ 0.8 of a raw COPY pipe',
        note: `incremental read ${changed.rowsProcessed} rows (1 % changed + 7 days of lookback), wrote ${changed.rowsUpdated}; full load ${round(rows / full.s, 0)} rows/s vs raw COPY ${round(rows / raw.s, 0)} rows/s = ${round(fullRatio)}`,
      }),
      full_load_vs_raw_copy: round(fullRatio),
      clustered_ratio: round(clustered.s / full.s),
      clustered_s: round(clustered.s),
    } as BenchResult
  } finally {
    await src.close()
    await wh.close()
    await source.drop()
    await target.drop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await tableSyncIncremental(process.argv.includes('--quick')))}\n`)
}
