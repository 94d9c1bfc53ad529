// Scenario `ledger_retention`: the ledger's own growth. A year-sized etl_job_runs (~159,000 rows:
// update_latest_prices every minute of 261 trading days, five hourly table syncs, fifteen daily
// jobs) and the retention job's ledger pass on it: ours, a no-op run (ETL_LEDGER_RETENTION longer
// than the history, so nothing goes), against one count of the table. Also reports the ledger's
// size before and after a real 6-month pass, that pass run again (a no-op with old rows to look
// at), the next day's pass, and the skip check's time.
// `node --import tsx bench/ledger.ts [--quick]` prints one JSON line; bench/index.ts imports it.
import { sql } from 'kysely'
import { migrateUp } from '../src/db/migrate.js'
import { openPostgres } from '../src/db/postgres.js'
import { findSuccess } from '../src/engine/ledger/index.js'
import { pruneLedger } from '../src/engine/ledger/retention.js'
import { median, result, scratchDatabase, seconds, type BenchResult } from './support.js'

const NOW = new Date('2026-06-30T20:00:00Z')

export async function ledgerRetention(quick = false): Promise<BenchResult> {
  const scratch = await scratchDatabase('ledger')
  const database = await openPostgres({ url: scratch.url, role: 'warehouse' })
  const db = database.db
  try {
    await migrateUp(database, 'public')
    await sql`
      insert into etl_job_runs (job_name, run_date, target_date, status, rows_processed, started_at, completed_at, duration_ms)
      select 'update_latest_prices', d::date, null::date, case when m % 50 = 0 then 'SKIPPED' else 'SUCCESS' end, 30,
             d + make_interval(mins => 810 + m), d + make_interval(mins => 810 + m, secs => 2), 2000
      from generate_series(${NOW}::timestamptz - interval '364 days', ${NOW}::timestamptz, interval '1 day') d, generate_series(0, 419) m
      where extract(isodow from d) < 6
      union all
      select 'sync_table_' || j, h::date, null::date, case when extract(hour from h) = 3 and j = 1 then 'FAILED' else 'SUCCESS' end, 1000, h, h + interval '20 seconds', 20000
      from generate_series(${NOW}::timestamptz - interval '364 days', ${NOW}::timestamptz, interval '1 hour') h, generate_series(1, 5) j
      union all
      select 'daily_job_' || j, d::date, d::date - 1, 'SUCCESS', 5000, d + interval '2 hours', d + interval '2 hours 1 minute', 60000
      from generate_series(${NOW}::timestamptz - interval '364 days', ${NOW}::timestamptz, interval '1 day') d, generate_series(1, 15) j`.execute(db)
    await sql`vacuum analyze etl_job_runs`.execute(db)
    const size = async () =>
      (await sql<{ rows: number; mb: number }>`
        select (select count(*)::int from etl_job_runs) as rows, round(pg_total_relation_size('etl_job_runs') / 1048576.0, 1)::float8 as mb`.execute(db)).rows[0]!
    const before = await size()

    // each run in a transaction that is rolled back, so every run sees the same ledger
    const inRollback = (fn: (trx: typeof db) => Promise<unknown>) =>
      db.transaction().execute(async (trx) => {
        await fn(trx)
        throw new Rollback()
      }).catch((e) => {
        if (!(e instanceof Rollback)) throw e
      })
    const runs = quick ? 3 : 7
    const ours: number[] = []
    const base: number[] = []
    let removed = -1
    for (let i = 0; i < runs; i++) {
      ours.push((await seconds(() => inRollback(async (trx) => (removed = await pruneLedger(trx, { now: NOW, retention: '13 months' }))))).s)
      base.push((await seconds(() => sql`select count(*) from etl_job_runs`.execute(db))).s)
    }
    if (removed !== 0) throw new Error(`the no-op pass removed ${removed} rows`)
    const skip = await seconds(() => findSuccess(db, 'daily_job_3', '2026-03-01'))
    const real = await seconds(() => pruneLedger(db, { now: NOW, retention: '6 months' }))
    await sql`vacuum analyze etl_job_runs`.execute(db)
    const after = await size()
    // the same pass again: nothing to remove, but old rows (kept ones) to look at
    const again = await seconds(() => pruneLedger(db, { now: NOW, retention: '6 months' }))
    if (again.value !== 0) throw new Error(`a second 6-month pass removed ${again.value} rows`)
    // the steady state: the next day's pass removes that day's share
    const nextDay = await seconds(() => pruneLedger(db, { now: new Date(NOW.getTime() + 86_400_000), retention: '6 months' }))
    return result({
        scenario: 'ledger_retention',
        ours,
        baseline: base,
        goal: null,
        rows: before.rows,
        peak_rss_mb: process.memoryUsage().rss / 1048576,
        note: `no-op pass on a year-sized ledger (${before.rows} rows, ${before.mb} MB) vs one count(*); a 6-month pass removed ${real.value} rows in ${real.s.toFixed(3)} s, leaving ${after.rows} rows (${after.mb} MB after VACUUM); the same pass again removes nothing in ${again.s.toFixed(3)} s, the next day's ${nextDay.value} rows in ${nextDay.s.toFixed(3)} s; skip check ${(skip.s * 1000).toFixed(1)} ms`,
      })
  } finally {
    await database.close()
    await scratch.drop()
  }
}

class Rollback extends Error {}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await ledgerRetention(process.argv.includes('--quick')))}\n`)
}
