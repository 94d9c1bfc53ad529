// Scenario `table_sync_incremental`: a 5M-row source table (500k with --quick) with two years of
// history, synced with a 7-day lookback. Ours: an incremental run in a round that changed 1 % of
// the rows (its lookback also reads the round before's 1 % again, unchanged); the baseline: a
// --full-refresh of the same table. Two shapes of the 1 %:
//  - recent: one contiguous range of the newest keys (how tables synced by a watermark change:
//    orders, sessions, time series) — `ratio`, the goal;
//  - scattered: every 100th key, a changed row on every page — `scattered_ratio`, the worst case,
//    where PostgreSQL rewrites (and logs a full image of) nearly every page of the table.
// Also measured: the full load's rows/s against a raw `COPY … TO STDOUT | COPY … FROM STDIN` pipe
// into the same kind of table (goal ≥ 0.8), and the first incremental run after a full load.
// Every timed step starts from a checkpoint, and each is repeated: medians of 3 (full loads and
// raw pipes interleaved; 5 recent rounds), because this machine stalls for seconds now and then.
// `node --import tsx bench/table-sync.ts [--quick]` prints one JSON line; bench/index.ts imports it.
import type { JobResult } from '../src/engine/job.js'
import { NOW, syncBench } from './sync-harness.js'
import { median, result, round, type BenchResult } from './support.js'

const REPEAT = 3
// the goal's step costs half a second a round: five of them give a steadier median for little time
const REPEAT_RECENT = 5

export async function tableSyncIncremental(quick = false): Promise<BenchResult> {
  const rows = quick ? 500_000 : 5_000_000
  // two years of history, none of it in the last month; updated_at indexed, as a synced table should be
  const bench = await syncBench(
    'tsync',
    async (src) => {
      await src.exec(`
        create table events (id bigint primary key, account_id integer not null, amount numeric(12,2) not null,
                             status text not null, updated_at timestamptz not null);
        insert into events
        select g, g % 9973, (g % 100000) / 100.0, (array['new','paid','void'])[1 + g % 3],
               '${NOW.toISOString()}'::timestamptz - interval '30 days' - (g % 700) * interval '1 day' - (g % 86400) * interval '1 second'
        from generate_series(1, ${rows}) g;
        create index events_updated_at on events (updated_at);`)
      await src.exec('vacuum analyze events')
    },
    { name: 'sync_table_events', source: { table: 'public.events' }, target: 'events', primaryKey: ['id'], incrementalColumn: 'updated_at', lookbackDays: 7 },
  )
  const { src, sync, settled } = bench
  const rawPipe = () => bench.rawPipe('events', 'events_raw', 'create table events_raw (like events including all)')
  try {
    await sync() // creates the target and loads it: the state every later run starts from
    const fullS: number[] = []
    const rawS: number[] = []
    for (let i = 0; i < REPEAT; i++) {
      fullS.push((await settled(() => sync({ fullRefresh: true }))).s)
      rawS.push(await rawPipe())
    }
    // the first incremental run after a full load has no window yet: it compares the 7 days it
    // reads again with the target (a sync that runs every hour is past this run)
    const first = await settled(() => sync())

    // each round changes 1 % of the rows and happens 8 days after the one before (its updated_at
    // says so), so its 7-day lookback reads the round before's 1 % again, unchanged, and no older one
    let round_ = 0
    const changeAndSync = async (where: string) => {
      round_ += 1
      await src.exec(`update events set amount = amount + 1, status = 'paid',
                        updated_at = '${NOW.toISOString()}'::timestamptz + ${round_} * interval '8 days' - interval '1 hour' where ${where}`)
      return settled(() => sync())
    }
    const recent: Array<{ s: number; value: JobResult }> = []
    const scattered: Array<{ s: number; value: JobResult }> = []
    // one shape, then the other: scattered rounds leave free space on every page, where the new
    // versions of the recent rows would then go. Round i of a shape changes its own 1 %: the
    // i-th 1 % from the top of the keys, or every 100th key from i on.
    const block = rows / 100
    for (let i = 0; i < REPEAT_RECENT; i++) recent.push(await changeAndSync(`id > ${rows - (i + 1) * block} and id <= ${rows - i * block}`))
    for (let i = 0; i < REPEAT; i++) scattered.push(await changeAndSync(`id % 100 = ${i}`))
    const full = median(fullS)
    const raw = median(rawS)
    const fullRatio = raw / full
    const ours = median(recent.map((r) => r.s))
    const worst = median(scattered.map((r) => r.s))
    const last = recent.at(-1)!.value
    const lastScattered = scattered.at(-1)!.value
    return {
      ...result({
        scenario: 'table_sync_incremental',
        ours_s: ours,
        baseline_s: full,
        rows,
        peak_rss_mb: process.resourceUsage().maxRSS / 1024,
        goal: 'ratio ≤ 0.05; full load ≥ 0.8 of a raw COPY pipe',
        note:
          `recent 1 %: read ${last.rowsProcessed} rows (changed + 7 days of lookback), wrote ${last.rowsUpdated}; ` +
          `scattered 1 %: read ${lastScattered.rowsProcessed}, wrote ${lastScattered.rowsUpdated}; ` +
          `full load ${round(rows / full, 0)} rows/s vs raw COPY ${round(rows / raw, 0)} rows/s = ${round(fullRatio)}; ` +
          `scattered ${round(worst)}s = ${round(worst / full)} of the full load; ` +
          `first run after a full load (no window yet) ${round(first.s)}s = ${round(first.s / full)}; medians of ${REPEAT} (${REPEAT_RECENT} for the recent rounds)`,
      }),
      full_load_vs_raw_copy: round(fullRatio),
      scattered_ratio: round(worst / full),
      scattered_s: round(worst),
      first_after_full_ratio: round(first.s / full),
      first_after_full_s: round(first.s),
    } as BenchResult
  } finally {
    await bench.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await tableSyncIncremental(process.argv.includes('--quick')))}\n`)
}
