// Scenario `table_sync_partitioned`: the shape of the shipped dashboard tables — a target range-
// partitioned by month on a time column of its key — with a 1M-row source over two years (200k
// with --quick; 2M before, cut to keep three repetitions within the bench's time: the ratio is
// rows/s against rows/s). Ours: a --full-refresh, which makes the partitions of the source's days and
// COPYs straight into the partitioned target; the baseline: a raw binary `COPY … TO STDOUT | COPY …
// FROM STDIN` pipe into a table with the same partitions (goal: the sync's rows/s ≥ 0.9 of it). Also
// measured: an incremental run in a round that changed the newest 1 % of the keys (the rows keep
// their partition: `occurred_at` does not change, `updated_at` does), against the full load.
// Medians of 3 (5 rounds), every step from a checkpoint, as in bench/table-sync.ts.
import type { JobResult } from '../src/engine/job.js'
import { NOW, syncBench } from './sync-harness.js'
import { median, REPEAT, result, round, type BenchResult } from './support.js'

const REPEAT_RECENT = 5

// a table with the target's columns, key and partition bounds: what a raw pipe is timed into
const SAME_PARTITIONS = `
  create table events_raw (like events including all) partition by range (occurred_at);
  do $$ declare p record; begin
    for p in select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
             from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'events'::regclass loop
      execute format('create table %I partition of events_raw %s', p.name || '_raw', p.bound);
    end loop;
  end $$;`

export async function tableSyncPartitioned(quick = false): Promise<BenchResult[]> {
  const rows = quick ? 200_000 : 1_000_000
  const bench = await syncBench(
    'tsyncp',
    async (src) => {
      await src.exec(`
        create table events (id bigint primary key, occurred_at timestamptz not null, account_id integer not null,
                             amount numeric(12,2) not null, status text not null, updated_at timestamptz not null);
        insert into events
        select g, t, g % 9973, (g % 100000) / 100.0, (array['new','paid','void'])[1 + g % 3], t
        from (select g, '${NOW.toISOString()}'::timestamptz - interval '30 days' - (g % 700) * interval '1 day' - (g % 86400) * interval '1 second' as t
              from generate_series(1, ${rows}) g) r;
        create index events_updated_at on events (updated_at);`)
      await src.exec('vacuum analyze events')
    },
    {
      name: 'sync_table_events_by_month',
      source: { table: 'public.events' },
      target: 'events',
      primaryKey: ['occurred_at', 'id'],
      incrementalColumn: 'updated_at',
      lookbackDays: 7,
      timePartition: { column: 'occurred_at', chunk: '1 month', retention: '5 years' },
    },
  )
  const { src, sync, settled } = bench
  try {
    await sync() // creates the target and its partitions
    const fullS: number[] = []
    const rawS: number[] = []
    for (let i = 0; i < REPEAT; i++) {
      fullS.push((await settled(() => sync({ fullRefresh: true }))).s)
      rawS.push(await bench.rawPipe('events', 'events_raw', SAME_PARTITIONS))
    }
    await sync() // the first incremental run keeps the window the rounds start from
    const recent: Array<{ s: number; value: JobResult }> = []
    const block = rows / 100
    for (let i = 0; i < REPEAT_RECENT; i++) {
      await src.exec(`update events set amount = amount + 1, status = 'paid',
                        updated_at = '${NOW.toISOString()}'::timestamptz + ${i + 1} * interval '8 days' - interval '1 hour'
                      where id > ${rows - (i + 1) * block} and id <= ${rows - i * block}`)
      recent.push(await settled(() => sync()))
    }
    const full = median(fullS)
    const last = recent.at(-1)!.value
    const common = { rows, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }
    return [
      result({
        scenario: 'table_sync_partitioned',
        ours: fullS,
        baseline: rawS,
        ...common,
        goal: { max: 1.11 },
        goalText: '≤ 1.11 (≥ 0.9 of the raw pipe\'s rows/s)',
        note: `--full-refresh ${round(rows / full, 0)} rows/s vs a raw binary COPY pipe into the same partitions ${round(rows / median(rawS), 0)} rows/s`,
      }),
      result({
        scenario: 'table_sync_partitioned_incremental',
        ours: recent.map((r) => r.s),
        baseline: recent.map(() => full),
        ...common,
        goal: null,
        note: `newest 1 % changed: read ${last.rowsProcessed}, updated ${last.rowsUpdated}, inserted ${last.rowsInserted}; vs the full load`,
      }),
    ]
  } finally {
    await bench.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await tableSyncPartitioned(process.argv.includes('--quick'))) process.stdout.write(`${JSON.stringify(r)}\n`)
}
