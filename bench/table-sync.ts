// Scenario `table_sync_incremental`: a 5M-row source table (500k with --quick) with two years of
// history, synced with a 7-day lookback. Ours: an incremental run in a round that changed 1 % of
// the rows (its lookback also reads the round before's 1 % again, unchanged); the baseline: a
// --full-refresh of the same table. Two shapes of the 1 %:
//  - recent: one contiguous range of the newest keys (how tables synced by a watermark change:
//    orders, sessions, time series) — `ratio`, the goal;
//  - scattered: every 100th key, a changed row on every page — `scattered_ratio`, the worst case,
//    where PostgreSQL rewrites (and logs a full image of) nearly every page of the table.
// Also measured: the full load's time against a raw binary `COPY … TO STDOUT | COPY … FROM STDIN`
// pipe into the same kind of table (goal: ≥ 0.9 of its rows/s), and the first incremental run
// after a full load. Prints one line per ratio.
// Every timed step starts from a checkpoint, and each is repeated: medians of 3 (full loads and
// raw pipes interleaved; 5 recent rounds), because this machine stalls for seconds now and then.
// `node --import tsx bench/table-sync.ts [--quick]` prints its JSON lines; bench/index.ts imports it.
import type { JobResult } from '../src/engine/job.js'
import { NOW, syncBench } from './sync-harness.js'
import { median, REPEAT, result, round, type BenchResult } from './support.js'

// the goal's step costs half a second a round: five of them give a steadier median for little time
const REPEAT_RECENT = 5

export async function tableSyncIncremental(quick = false): Promise<BenchResult[]> {
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
    // the first incremental run after a full load has no window yet: it compares the 7 days it
    // reads again with the target (a sync that runs every hour is past this run)
    const firstRuns: Array<{ s: number }> = []
    for (let i = 0; i < REPEAT; i++) {
      fullS.push((await settled(() => sync({ fullRefresh: true }))).s)
      rawS.push(await rawPipe())
      firstRuns.push(await settled(() => sync()))
    }

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
    const last = recent.at(-1)!.value
    const lastScattered = scattered.at(-1)!.value
    const common = { rows, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }
    // every incremental round against the median full load: the full loads are the slow, steady side
    const againstFull = (runs: Array<{ s: number }>) => ({ ours: runs.map((r) => r.s), baseline: runs.map(() => full), ...common })
    return [
      result({
        scenario: 'table_sync_incremental',
        ...againstFull(recent),
        goal: { max: 0.05 },
        note: `recent 1 %: read ${last.rowsProcessed} rows (changed + 7 days of lookback), wrote ${last.rowsUpdated}; vs a --full-refresh of the same table`,
      }),
      result({
        scenario: 'table_sync_scattered',
        ...againstFull(scattered),
        goal: null,
        note: `the worst case, 1 % scattered (every 100th key, a changed row on every page): read ${lastScattered.rowsProcessed}, wrote ${lastScattered.rowsUpdated}; vs the full load`,
      }),
      result({
        scenario: 'table_sync_first_run',
        ...againstFull(firstRuns),
        goal: null,
        note: 'the first incremental run after a full load (no window yet: it compares its 7 days with the target); vs the full load',
      }),
      result({
        scenario: 'table_sync_full_load',
        ours: fullS,
        baseline: rawS,
        ...common,
        goal: { max: 1.11 },
        goalText: '≤ 1.11 (≥ 0.9 of the raw pipe\'s rows/s)',
        note: `--full-refresh (binary COPY straight into the target) ${round(rows / full, 0)} rows/s vs a raw binary COPY pipe into the same kind of table ${round(rows / median(rawS), 0)} rows/s`,
      }),
    ]
  } finally {
    await bench.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await tableSyncIncremental(process.argv.includes('--quick'))) process.stdout.write(`${JSON.stringify(r)}\n`)
}
