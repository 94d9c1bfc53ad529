// Scenarios `noop_server` and `noop_embedded`: what a cron call that finds nothing to do costs,
// against starting node at all. `etl run-job --job build_fact_sessions --date D` of a partition
// already SUCCESS (recorded SKIPPED), with the warehouse on the bench server and on the embedded
// default (ETL_DATA_DIR, no WAREHOUSE_DATABASE_URL), each against `node -e 0`. The three commands
// are spawned in turn, seven times, so a stall of the machine hits all of them alike.
// `node --import tsx bench/noop.ts` prints its JSON lines; bench/index.ts imports it.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { repeat, result, run, scratchDatabase, type BenchResult } from './support.js'

const REPS = 7

export async function noopScenarios(): Promise<BenchResult[]> {
  const db = await scratchDatabase('noop')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ns-bench-noop-'))
  // the embedded default: no server URL in the environment at all
  const embedded = { ETL_DATA_DIR: path.join(dir, 'embedded'), WAREHOUSE_DATABASE_URL: undefined, OLTP_DATABASE_URL: undefined }
  const server = { ETL_DATA_DIR: path.join(dir, 'server'), WAREHOUSE_DATABASE_URL: db.url, OLTP_DATABASE_URL: db.url }
  const etl = async (env: Record<string, string | undefined>, ...args: string[]) => {
    const r = await run(process.execPath, ['bin/etl.js', ...args], env)
    if (r.code !== 0) throw new Error(`etl ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r.s
  }
  try {
    // demo data and the pipeline for yesterday (the demo's last day, run-job's default date)
    const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)
    const noop = ['run-job', '--job', 'build_fact_sessions', '--date', day]
    for (const env of [server, embedded]) {
      await etl({ ...env, ETL_TIMEZONE: 'UTC' }, 'demo', '--days', '1')
      await etl({ ...env, ETL_TIMEZONE: 'UTC' }, ...noop) // SUCCESS now, if the demo's days were another zone's
    }
    const reps = await repeat(REPS, async () => ({
      node: (await run(process.execPath, ['-e', '0'])).s,
      server: await etl({ ...server, ETL_TIMEZONE: 'UTC' }, ...noop),
      embedded: await etl({ ...embedded, ETL_TIMEZONE: 'UTC' }, ...noop),
    }))
    const line = (scenario: string, side: 'server' | 'embedded', where: string, goal: { max: number } | null) =>
      result({
        scenario,
        ours: reps.map((r) => r[side]),
        baseline: reps.map((r) => r.node),
        rows: 0,
        peak_rss_mb: 0,
        goal,
        note: `etl run-job of a partition already SUCCESS (SKIPPED), ${where}, vs node -e 0; ${REPS} of each, spawned in turn`,
      })
    return [
      line('noop_server', 'server', 'warehouse on the bench server', { max: 3 }),
      // no goal: most of it is PGlite starting PostgreSQL inside WASM, in every process, CPU
      // that node -e 0 has nothing of, so the ratio follows the machine's load (9 to 20 here);
      // a job run every minute belongs on a server (docs/performance.md)
      line('noop_embedded', 'embedded', 'embedded warehouse (ETL_DATA_DIR)', null),
    ]
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
    await db.drop()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await noopScenarios()) process.stdout.write(`${JSON.stringify(r)}\n`)
}
