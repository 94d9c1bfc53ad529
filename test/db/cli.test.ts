import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestWarehouse, type TestWarehouse } from '../helpers/db.js'
import { badJobs, errorLines, etl, startEtl } from '../helpers/cli.js'

let tw: TestWarehouse

beforeAll(async () => {
  tw = await createTestWarehouse()
})

afterAll(async () => {
  await tw?.drop()
})

const SPEC_COMMANDS = [
  'run', 'sync-dimensions', 'build-facts', 'run-job', 'backfill', 'rollup', 'series', 'prices', 'cache',
  'sync-table', 'sync-tables', 'watermarks', 'metric', 'retry', 'status', 'jobs', 'check', 'migrate',
  'demo', 'schedule', 'serve', 'citus',
]

describe('etl as a subprocess', () => {
  it('lists every command of the SPEC in --help', async () => {
    const { code, stdout } = await etl(['--help'])
    expect(code).toBe(0)
    for (const command of SPEC_COMMANDS) expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'))
  })

  it('runs a date given as --date=D, skips it the second time, and reports both in status --json', async () => {
    const first = await etl(['run', '--date=2025-01-15', '--jobs', 'fx_write'], tw.env)
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/fx_write\s+2025-01-15\s+SUCCESS\s+100/)
    const second = await etl(['run', '--date', '2025-01-15', '--jobs', 'fx_write'], tw.env)
    expect(second.code).toBe(0)
    expect(second.stdout).toMatch(/SKIPPED/)
    const status = await etl(['status', '--json', '--job', 'fx_write'], tw.env)
    expect(status.code).toBe(0)
    const rows = JSON.parse(status.stdout)
    expect(rows.map((r: { status: string }) => r.status)).toEqual(['SKIPPED', 'SUCCESS'])
    for (const column of ['id', 'job_name', 'run_date', 'target_date', 'status', 'rows_processed', 'rows_inserted', 'rows_updated', 'rows_deleted', 'duration_ms', 'error_message', 'started_at', 'completed_at']) {
      expect(rows[0]).toHaveProperty(column)
    }
  })

  it('exits 1 when a job fails, and retry --run-id re-runs the failed pairs', async () => {
    const failed = await etl(['run', '--date', '2025-02-01', '--jobs', 'fx_write,fx_after'], { ...tw.env, FX_FAIL: '1' })
    expect(failed.code).toBe(1)
    const runId = /run ([0-9a-f-]{36}):/.exec(failed.stdout)?.[1]
    expect(runId).toBeDefined()
    expect(failed.stdout).toContain(`etl retry --run-id ${runId}`)
    const retried = await etl(['retry', '--run-id', runId!], tw.env)
    expect(retried.code).toBe(0)
    expect(retried.stdout).toMatch(/fx_write\s+2025-02-01\s+SUCCESS/)
    expect(retried.stdout).toMatch(/fx_after\s+2025-02-01\s+SUCCESS/)
  })

  it('backfills a range with a summary line', async () => {
    const result = await etl(['backfill', '--from', '2025-03-01', '--to', '2025-03-04', '--jobs', 'fx_write', '--concurrency', '2'], tw.env)
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/: 4 SUCCESS/)
  })

  it('lists jobs with kind, schedule and dependencies', async () => {
    const result = await etl(['jobs', '--json'], tw.env)
    const jobs = JSON.parse(result.stdout)
    expect(jobs.find((j: { name: string }) => j.name === 'fx_after')).toMatchObject({ kind: 'custom', dependsOn: ['fx_write'] })
  })

  describe('bad input: exit 2, one line, nothing recorded', () => {
    const cases: Array<[string, string[], Record<string, string>?, RegExp?]> = [
      ['an unknown command', ['frobnicate'], {}, /unknown command 'frobnicate'/],
      ['an unknown flag', ['run', '--bogus'], {}, /unknown option '--bogus'/],
      ['an unknown job', ['run-job', '--job', 'nope', '--date', '2025-01-15'], {}, /no job named 'nope'/],
      ['an unknown job in --jobs', ['run', '--jobs', 'fx_write,nope'], {}, /no job named 'nope'/],
      ['a malformed date', ['run', '--date', '15/01/2025'], {}, /--date '15\/01\/2025' is not a date; write it as YYYY-MM-DD/],
      ['an impossible date', ['run', '--date=2025-02-30'], {}, /--date '2025-02-30' is not a calendar day/],
      ['a reversed range', ['backfill', '--from', '2025-01-10', '--to', '2025-01-01'], {}, /--from 2025-01-10 is after --to 2025-01-01/],
      ['a bad --concurrency', ['backfill', '--from', '2025-01-01', '--to', '2025-01-02', '--concurrency', '0'], {}, /--concurrency/],
      ['a bad --limit', ['status', '--limit', 'ten'], {}, /--limit/],
      ['a missing --job', ['run-job'], {}, /--job/],
      ['retry without a selector', ['retry'], {}, /--run-id ID, or --failed/],
      ['retry with a bad run id', ['retry', '--run-id', 'x1'], {}, /is not a run id/],
      ['an unknown migrate action', ['migrate', 'sideways'], {}, /unknown migrate action 'sideways'/],
      ['a bad --scale', ['demo', '--scale', 'huge'], {}, /--scale 'huge'/],
      ['a job file with a bad field', ['jobs'], { ETL_JOBS_PATH: badJobs('bad_schedule') }, /nightly\.mjs: field 'schedule' must be a five-field cron/],
      ['a job file of an unknown kind', ['jobs'], { ETL_JOBS_PATH: badJobs('bad_kind') }, /weird\.mjs: field 'kind'/],
      ['a job file without a default export', ['jobs'], { ETL_JOBS_PATH: badJobs('no_default') }, /lonely\.mjs: has no default export/],
      ['a job that is in a cycle', ['run-job', '--job', 'egg', '--date', '2025-01-15'], { ETL_JOBS_PATH: badJobs('cycle') }, /cycle: chicken, egg/],
    ]
    for (const [what, args, env, message] of cases) {
      it(`refuses ${what}`, async () => {
        const result = await etl(args, { ...tw.env, ...env })
        expect(result.code, result.stderr).toBe(2)
        const lines = errorLines(result.stderr)
        expect(lines, result.stderr).toHaveLength(1)
        expect(lines[0]).toMatch(/^etl: /)
        if (message) expect(lines[0]).toMatch(message)
      })
    }

    it('recorded nothing for any of them', async () => {
      const status = await etl(['status', '--json', '--limit', '1000'], tw.env)
      const rows = JSON.parse(status.stdout) as Array<{ job_name: string; target_date: string }>
      expect(rows.filter((r) => r.target_date === '2025-01-01' || r.target_date === '2025-01-10')).toEqual([])
      expect(rows.filter((r) => ['chicken', 'egg', 'nope'].includes(r.job_name))).toEqual([])
    })
  })

  it('exits 3 when the warehouse cannot be reached, without printing the password', async () => {
    const result = await etl(['status'], { WAREHOUSE_DATABASE_URL: 'postgres://etl:s3cretPassw0rd@127.0.0.1:1/warehouse' })
    expect(result.code).toBe(3)
    expect(result.stderr).not.toContain('s3cretPassw0rd')
    expect(errorLines(result.stderr)).toHaveLength(1)
    expect(result.stderr).toMatch(/cannot reach the warehouse database at postgres:\/\/etl@127\.0\.0\.1:1\/warehouse/)
  })

  it('exits 3 on a bad configuration value, naming the variable', async () => {
    const result = await etl(['status'], { ...tw.env, ETL_TIMEZONE: 'Mars/Olympus' })
    expect(result.code).toBe(3)
    expect(errorLines(result.stderr)[0]).toMatch(/ETL_TIMEZONE/)
  })
})

describe('database-specific behaviour', () => {
  it('refuses to run against a server warehouse with pending migrations (exit 3), until etl migrate up', async () => {
    const fresh = await createTestWarehouse({ migrate: false })
    try {
      if (fresh.kind !== 'postgres') {
        // the embedded warehouse migrates itself; that is the behaviour to prove there
        const result = await etl(['run', '--date', '2025-01-15', '--jobs', 'fx_write'], fresh.env)
        expect(result.code).toBe(0)
        return
      }
      const refused = await etl(['run', '--date', '2025-01-15', '--jobs', 'fx_write'], fresh.env)
      expect(refused.code).toBe(3)
      expect(errorLines(refused.stderr)[0]).toMatch(/pending migration.*run 'etl migrate up'/)
      expect((await etl(['migrate', 'up'], fresh.env)).code).toBe(0)
      expect((await etl(['run', '--date', '2025-01-15', '--jobs', 'fx_write'], fresh.env)).code).toBe(0)
      const list = await etl(['migrate', 'list'], fresh.env)
      expect(list.stdout).not.toMatch(/pending/)
      expect((await etl(['migrate', 'redo'], fresh.env)).stdout).toMatch(/^rolled back (\d{4}_\w+)\napplied \1$/m)
    } finally {
      await fresh.drop()
    }
  })

  it('makes a second process on the same embedded database wait, then exit 3 with a clear message', async () => {
    const fresh = await createTestWarehouse()
    try {
      const env = { ETL_DATA_DIR: fresh.env.ETL_DATA_DIR! } // embedded even when the project has a server
      const slow = startEtl(['run', '--date', '2025-01-15', '--jobs', 'fx_write'], { ...env, FX_SLEEP_MS: '4000' })
      await new Promise<void>((resolve) => slow.child.stderr!.on('data', (d) => String(d).includes('sleeping') && resolve()))
      const second = await etl(['status', '--lock-timeout', '1'], env)
      expect(second.code).toBe(3)
      expect(errorLines(second.stderr)).toHaveLength(1)
      expect(second.stderr).toMatch(/embedded database in .* is in use by process \d+@.*stayed locked for 1s/)
      expect((await slow.done).code).toBe(0)
      // and once the first is done, the next one gets in
      expect((await etl(['status'], env)).code).toBe(0)
    } finally {
      await fresh.drop()
    }
  })
})
