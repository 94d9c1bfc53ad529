import type { Command } from 'commander'
import { anyBlocking, retest } from '../../engine/checks/retest.js'
import { latestCheckResults } from '../../engine/checks/store.js'
import type { IsoDate } from '../../time/calendar.js'
import { withContext } from '../context.js'
import { oneLine, print, setExitCode, table, timeCell } from '../options.js'

interface TestRow {
  job: string
  partition: string | null
  check: string
  severity: string
  status: string
  failingRows: number
  sample: readonly string[]
  message: string | null
}


export async function runTest(options: { jobs?: string[]; date?: IsoDate; json?: boolean }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    const registry = await ctx.registry()
    const jobs = options.jobs ? registry.select(options.jobs) : registry.jobs
    const warehouse = await ctx.connections.warehouse()
    const outcomes = await retest({ db: warehouse.db, config: ctx.config, now: ctx.now(), source: () => ctx.connections.source() }, jobs, options.date)
    const rows = outcomes.flatMap((o): TestRow[] =>
      o.results.length
        ? o.results.map((r) => ({ job: o.job, partition: o.target, check: r.name, severity: r.severity, status: r.status, failingRows: r.failingRows, sample: r.sample, message: r.message }))
        : [{ job: o.job, partition: o.target, check: '-', severity: '-', status: 'not_checked', failingRows: 0, sample: [], message: o.note ?? null }],
    )
    if (options.json) print(JSON.stringify(rows))
    else if (rows.length === 0) print('no job declares checks')
    else {
      print(
        table(
          ['job', 'partition', 'check', 'severity', 'status', 'failing', 'sample', 'message'],
          rows.map((r) => [r.job, r.partition ?? '-', r.check, r.severity, r.status, r.failingRows, r.sample.join(', '), oneLine(r.message)]),
        ),
      )
    }
    if (anyBlocking(outcomes)) setExitCode(1)
  })
}

/** `etl status --checks`: the newest result of each check, newest partitions first. */
export async function showCheckResults(options: { job?: string; limit: number; json?: boolean }, command: Command): Promise<void> {
  await withContext(command, async (ctx) => {
    if (options.job) (await ctx.registry()).get(options.job)
    const warehouse = await ctx.connections.warehouse()
    const rows = await latestCheckResults(warehouse.db, { jobs: options.job ? [options.job] : undefined, limit: options.limit })
    if (options.json) {
      print(JSON.stringify(rows))
      return
    }
    if (rows.length === 0) {
      print('no check results recorded yet')
      return
    }
    print(
      table(
        ['checked', 'job', 'partition', 'check', 'severity', 'status', 'failing', 'ms', 'sample', 'message'],
        rows.map((r) => [
          timeCell(r.checked_at),
          r.job_name,
          r.target_date ?? '-',
          r.check_name,
          r.severity,
          r.status,
          r.failing_rows,
          r.duration_ms,
          r.sample.join(', '),
          oneLine(r.message),
        ]),
      ),
    )
  })
}
