import { afterEach, describe, expect, it } from 'vitest'
import { etl } from '../helpers/cli.js'
import { createTestWarehouse, testDbKind, type TestWarehouse } from '../helpers/db.js'
import { etlPty } from '../helpers/pty.js'

/*
 * `etl demo` as a person runs it: on the embedded default (project pglite: a fresh ETL_DATA_DIR)
 * and on a server (project postgres: a source and a warehouse database of the test's own). It
 * says which step it is on while it works, and ends with the status table and one "next" line.
 */

const DAYS = '2'
const opened: TestWarehouse[] = []

/** A fresh place for the demo: an empty data folder, or two new databases on the server. */
async function demoEnv(): Promise<Record<string, string>> {
  const warehouse = await createTestWarehouse({ migrate: false })
  opened.push(warehouse)
  // only the built-in jobs, as a new user has them
  const env = { ...warehouse.env, ETL_JOBS_PATH: '' }
  if (testDbKind() === 'pglite') return env
  const source = await createTestWarehouse({ migrate: false })
  opened.push(source)
  return { ...env, OLTP_DATABASE_URL: source.env.OLTP_DATABASE_URL! }
}

afterEach(async () => {
  for (const tw of opened.splice(0)) await tw.drop()
})

const embedded = () => testDbKind() === 'pglite'

/** The steps, in the order they must come: a new source and warehouse, filled, migrated, two days run. */
function expectedSteps(): RegExp[] {
  const open = (name: string) =>
    embedded() ? new RegExp(`^demo: creating the embedded ${name} in /\\S+$`) : new RegExp(`^demo: using the ${name} at postgres://\\S+$`)
  return [
    open('source'),
    /^demo: filling the source: 5 tenants, 300 learners, 14 days$/,
    open('warehouse'),
    /^demo: migrating the warehouse: \d+ migrations$/,
    /^demo: running 5 jobs without a partition first$/,
    /^demo: running day 1 of 2 \(\d{4}-\d\d-\d\d\)$/,
    /^demo: running day 2 of 2 \(\d{4}-\d\d-\d\d\)$/,
    /^demo: running 1 job without a partition last$/,
  ]
}

/** Each step once, as drawn: the terminal's rewritten line split at its redraws, the progress after ` · ` left off. */
function drawnSteps(raw: string): string[] {
  const steps: string[] = []
  for (const piece of raw.split(/\r\x1b\[2K|\r?\n/)) {
    const text = piece.replace(/\x1b\[[\d;?]*[A-Za-z]/g, '').split(' · ')[0]!.trimEnd()
    if (text.startsWith('demo: ') && steps.at(-1) !== text) steps.push(text)
  }
  return steps
}

function expectStatusThenNext(lines: string[]): void {
  const text = lines.filter((l) => l.trim() !== '')
  expect(text.at(-1)).toBe('next: etl status --job build_fact_sessions, or etl sql "select * from daily_metrics limit 5"')
  const header = text.findIndex((l) => /^started\s+job\s+partition\s+status\s+rows\s+ms\s+attempt\s+run id/.test(l))
  expect(header).toBeGreaterThan(0)
  const rows = text.slice(header + 2)
  const end = rows.findIndex((l) => !/^\d{4}-\d\d-\d\d \d\d:/.test(l))
  const runs = end < 0 ? rows : rows.slice(0, end)
  // the newest 20 rows of 5 dimensions, 2 days and the tenant series, all SUCCESS
  expect(runs).toHaveLength(20)
  for (const row of runs) expect(row).toMatch(/\bSUCCESS\b/)
  expect(text.filter((l) => l.startsWith('next: '))).toHaveLength(1)
}

describe('etl demo at a terminal', () => {
  it('says each step on one rewritten line, in order, then prints the status table and one next line', { timeout: 240_000 }, async () => {
    const r = await etlPty(['demo', '--days', DAYS], await demoEnv())
    expect(r.code, r.text).toBe(0)
    expect(drawnSteps(r.raw)).toEqual(expectedSteps().map((re) => expect.stringMatching(re)))
    // the line rewrote itself, with each job as it finished, and is gone from the screen at the end
    expect(r.raw).toMatch(/demo: running day 1 of 2 \([\d-]+\) · \d+\/\d+ build_fact_sessions SUCCESS/)
    expect(r.lines.filter((l) => l.startsWith('demo: '))).toEqual([])
    // no log line leaks as JSON, and info logs are held back while the line is up
    for (const line of r.lines) expect(line).not.toMatch(/^\s*\{|"level":|\bINFO\b/)
    expect(r.lines.find((l) => l.startsWith('demo data: '))).toMatch(/^demo data: created in [\d.]+ s \(5 tenants, 300 learners, /)
    expect(r.text).toMatch(/^run [0-9a-f-]{36}: \d+ SUCCESS$/m)
    // a terminal gets the success rate under the runs, as `etl status` prints it
    expect(r.text).toMatch(/^day\s+success rate/m)
    expectStatusThenNext(r.lines)
  })
})

describe('etl demo without a terminal', () => {
  it('prints its steps as plain lines on stderr, logs as JSON, and no escape code anywhere', { timeout: 240_000 }, async () => {
    const r = await etl(['demo', '--days', DAYS], { ...(await demoEnv()), LOG_LEVEL: 'info' })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).not.toContain('\x1b')
    expect(r.stderr).not.toContain('\x1b')
    const stderr = r.stderr.split('\n').filter((l) => l.trim() !== '')
    const steps = stderr.filter((l) => !l.startsWith('{'))
    expect(steps).toEqual(expectedSteps().map((re) => expect.stringMatching(re)))
    // the rest of stderr is the JSON logs, as cron has them
    for (const line of stderr.filter((l) => l.startsWith('{'))) expect(JSON.parse(line)).toHaveProperty('level')
    expect(stderr.some((l) => l.startsWith('{') && l.includes('"msg":"finished"'))).toBe(true)
    const stdout = r.stdout.split('\n')
    expect(stdout[0]).toMatch(/^demo data: created in [\d.]+ s \(5 tenants, 300 learners, /)
    // no success-rate table when stdout is not a terminal, as `etl status`
    expect(r.stdout).not.toMatch(/^day\s+success rate/m)
    expectStatusThenNext(stdout)
  })
})

describe('etl demo with a bad --scale', () => {
  it('is exit 2 with one line naming the sizes, before any database is opened', async () => {
    const env = await demoEnv()
    const r = await etl(['demo', '--scale', 'huge'], env)
    expect(r.code).toBe(2)
    expect(r.stderr).toBe("etl: --scale 'huge' is not a size; use small, medium or large\n")
    expect(r.stdout).toBe('')
  })
})
