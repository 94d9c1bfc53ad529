import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { etl, type CliResult } from './cli.js'
import { createTestWarehouse, testDbKind, type TestWarehouse } from './db.js'

/**
 * A warehouse for the run console's tests: `etl demo` over ten days, then what a console is for:
 * a real failure (a source table gone) retried by `etl retry`, which rebuilds a fact after the
 * daily rollup read it (stale), a failure left as it is, a RUNNING row whose process is gone,
 * and an error message that is markup (it must show as text).
 */
/** What the console's clock says when it shows the scenario; each step ran an hour or so before. */
export const SCENARIO_NOW = '2025-01-16T09:00:00Z'
export const LAST_DAY = '2025-01-15'
export const RETRIED_DAY = '2025-01-14'
export const FAILED_DAY = '2025-01-13'
export const MARKUP_DAY = '2025-01-12'
export const XSS = `<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> & "quoted"`

export interface ConsoleScenario {
  readonly tw: TestWarehouse
  readonly env: Record<string, string>
  readonly failedRunId: string
  readonly retryRunId: string
  readonly leftFailedRunId: string
  etl(args: string[]): Promise<CliResult>
  drop(): Promise<void>
}

export async function consoleScenario(): Promise<ConsoleScenario> {
  const tw = await createTestWarehouse({ migrate: false })
  const extra: TestWarehouse[] = []
  let env: Record<string, string> = { ...tw.env, ETL_JOBS_PATH: '', ETL_NOW: SCENARIO_NOW, ETL_TIMEZONE: 'UTC' }
  if (testDbKind() === 'postgres') {
    const source = await createTestWarehouse({ migrate: false })
    extra.push(source)
    env = { ...env, OLTP_DATABASE_URL: source.env.OLTP_DATABASE_URL! }
  }
  const run = (args: string[]) => etl(args, env)
  // each step at its own time, so the ledger's order is the story's order
  const must = async (args: string[], code = 0, at = SCENARIO_NOW) => {
    const r = await etl(args, { ...env, ETL_NOW: at })
    if (r.code !== code) throw new Error(`etl ${args.join(' ')} exited ${r.code}, not ${code}:\n${r.stdout}\n${r.stderr}`)
    return r
  }
  const openSource = async () => {
    if (testDbKind() === 'pglite') return tw.openSource()
    return extra[0]!.openSource()
  }
  const onSource = async (text: string) => {
    const db = await openSource()
    try {
      await sql.raw(text).execute(db.db)
    } finally {
      await db.close()
    }
  }
  const newestRun = async () => (JSON.parse((await must(['runs', '--limit', '1', '--json'])).stdout) as Array<{ invocation_id: string }>)[0]!.invocation_id

  await must(['demo', '--days', '10'], 0, '2025-01-16T06:00:00Z')
  // a source column renamed under a fact: its run fails inside the run, as in life
  await onSource('alter table public.sessions rename column duration_seconds to duration_s')
  await must(['run-job', '--job', 'build_fact_sessions', '--date', RETRIED_DAY, '--force'], 1, '2025-01-16T07:00:00Z')
  const failedRunId = await newestRun()
  await onSource('alter table public.sessions rename column duration_s to duration_seconds')
  await must(['retry', '--run-id', failedRunId], 0, '2025-01-16T07:10:00Z')
  const retryRunId = await newestRun()
  await onSource('alter table public.focus_events rename column focus_score to score')
  await must(['run-job', '--job', 'build_fact_focus_events', '--date', FAILED_DAY, '--force'], 1, '2025-01-16T07:20:00Z')
  const leftFailedRunId = await newestRun()
  await onSource('alter table public.focus_events rename column score to focus_score')

  const db = await tw.open()
  try {
    const started = new Date('2025-01-16T08:00:00Z')
    await sql`
      insert into etl_job_runs (invocation_id, job_name, run_date, target_date, status, started_at, heartbeat_at, attempt, host, pid, parameters)
      values (${randomUUID()}, 'calc_custom_metrics', '2025-01-16', ${LAST_DAY}, 'RUNNING', ${started}, ${started}, 2, 'gone-host', 999999, '{}'),
             (${randomUUID()}, 'build_fact_homework_events', '2025-01-16', ${MARKUP_DAY}, 'FAILED', ${started}, ${started}, 2, 'test', 1, '{}')`.execute(db.db)
    await sql`update etl_job_runs set error_message = ${XSS}, duration_ms = 5, completed_at = started_at where status = 'FAILED' and job_name = 'build_fact_homework_events'`.execute(db.db)
  } finally {
    await db.close()
  }
  return {
    tw,
    env,
    failedRunId,
    retryRunId,
    leftFailedRunId,
    etl: run,
    async drop() {
      await tw.drop()
      for (const e of extra) await e.drop()
    },
  }
}
