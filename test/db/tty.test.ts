import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fixtureJobs, root } from '../helpers/cli.js'
import { createTestWarehouse, testDbKind, type TestWarehouse } from '../helpers/db.js'
import { etlPty, screenLines } from '../helpers/pty.js'

/** Every migration under migrations/: a new warehouse applies them all. */
const MIGRATIONS = fs.readdirSync(path.join(root, 'migrations')).filter((f) => f.endsWith('.sql')).length

/*
 * The CLI as a person sees it: under a real pseudo-terminal, so logs are the short terminal
 * lines, `backfill` draws its bar and `status` adds the success-rate table. Runs on the
 * embedded database (project pglite: ETL_DATA_DIR only) and on the server (project postgres).
 */

const noisyJobs = `${fixtureJobs}:${path.join(root, 'test/fixtures/tty-jobs')}`
const LOG_LINE = /^\d\d:\d\d:\d\d (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) \S/
// what pino-pretty's multi-line objects looked like: an indented `key: value` or a lone bracket
const PRETTY_OBJECT_LINE = /^\s+("?[\w-]+"?: |[\]}])|^\s*[[{]$/

let tw: TestWarehouse

beforeAll(async () => {
  // the embedded warehouse migrates itself on first use (the first test sees it); a server is migrated by `etl migrate up`
  tw = await createTestWarehouse({ migrate: false })
  if (testDbKind() === 'postgres') {
    const r = await etlPty(['migrate', 'up'], tw.env)
    expect(r.code).toBe(0)
    expect(r.lines.filter((l) => l.startsWith('applied '))).toHaveLength(MIGRATIONS)
  }
})

afterAll(async () => {
  await tw?.drop()
})

function expectShortLogs(lines: string[]): void {
  for (const line of lines) expect(line, 'a log object spread over lines').not.toMatch(PRETTY_OBJECT_LINE)
}

describe('at a terminal', () => {
  it('status on a new warehouse: no crash, at most one short log line, then says there are no runs', async () => {
    const r = await etlPty(['status'], tw.env)
    expect(r.code).toBe(0)
    expect(r.text).not.toMatch(/is not a function|TypeError|stack/i)
    const logs = r.lines.filter((l) => LOG_LINE.test(l))
    if (testDbKind() === 'pglite') {
      expect(logs).toEqual([expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d INFO applied migrations to the embedded warehouse \\(applied: ${MIGRATIONS}\\)$`))])
    } else {
      expect(logs).toEqual([])
    }
    expect(r.lines.at(-1)).toBe('no runs recorded yet')
    expectShortLogs(r.lines)
  })

  it('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }
    for (const flag of ['--version', '-V']) {
      const r = await etlPty([flag])
      expect(r.code).toBe(0)
      expect(r.lines).toEqual([version])
    }
  })

  it('jobs prints an aligned table', async () => {
    const r = await etlPty(['jobs'], tw.env)
    expect(r.code).toBe(0)
    const header = r.lines.findIndex((l) => /^job\s+kind\s+partition\s+schedule/.test(l))
    expect(header).toBeGreaterThanOrEqual(0)
    expect(r.lines[header + 1]).toMatch(/^-+ {2}-+ {2}-+/)
    const row = r.lines.find((l) => l.startsWith('fx_write '))!
    // every row's columns start where the header's do
    expect(row.indexOf('custom')).toBe(r.lines[header]!.indexOf('kind'))
  })

  it('run, then status: the run table, the ledger table and the success rate', async () => {
    const run = await etlPty(['run', '--date', '2025-01-15', '--jobs', 'fx_write'], tw.env)
    expect(run.code).toBe(0)
    expect(run.text).toMatch(/^fx_write\s+2025-01-15\s+SUCCESS\s+100/m)
    expectShortLogs(run.lines)
    const status = await etlPty(['status'], tw.env)
    expect(status.code).toBe(0)
    expect(status.text).toMatch(/^started\s+job\s+partition\s+status/m)
    expect(status.text).toMatch(/fx_write\s+2025-01-15\s+SUCCESS\s+100/)
    expect(status.text).toMatch(/^day\s+success rate/m)
  })

  it('status shows the run id that retry --run-id takes: the command\'s, printed at its end', async () => {
    const failed = await etlPty(['run', '--date', '2025-01-20', '--jobs', 'fx_write'], { ...tw.env, FX_FAIL: '1' })
    expect(failed.code).toBe(1)
    const runId = /^run ([0-9a-f-]{36}): 1 FAILED; retry the failures with: etl retry --run-id \1$/m.exec(failed.text)?.[1]
    expect(runId).toBeDefined()
    const status = await etlPty(['status', '--job', 'fx_write', '--limit', '1'], tw.env)
    const header = status.lines.find((l) => l.startsWith('started'))!
    const row = status.lines.find((l) => l.includes('2025-01-20'))!
    expect(header).toMatch(/ run id +message$/)
    expect(row.slice(header.indexOf('run id')).startsWith(runId!)).toBe(true)
    const retried = await etlPty(['retry', '--run-id', runId!], tw.env)
    expect(retried.code).toBe(0)
    expect(retried.text).toMatch(/^fx_write\s+2025-01-20\s+SUCCESS/m)
  })

  it('check: ok on a clean ledger, exit 1 with an alert table after a failure', async () => {
    const ok = await etlPty(['check'], tw.env)
    expect(ok.code).toBe(0)
    expect(ok.text).toMatch(/^ok: no alerts/m)
    const failed = await etlPty(['run', '--date', '2025-01-16', '--jobs', 'fx_write'], { ...tw.env, FX_FAIL: '1' })
    expect(failed.code).toBe(1)
    expect(failed.lines.filter((l) => LOG_LINE.test(l)).some((l) => /ERROR .*fx_write failed on purpose/.test(l))).toBe(true)
    expectShortLogs(failed.lines)
    const alert = await etlPty(['check'], tw.env)
    expect(alert.code).toBe(1)
    expect(alert.text).toMatch(/^alert\s+job\s+partition\s+message/m)
    expect(alert.text).toMatch(/fx_write\s+2025-01-16/)
  })

  it('backfill draws its bar, and warnings go above it, never into it', async () => {
    const r = await etlPty(['backfill', '--from', '2025-02-01', '--to', '2025-02-04', '--jobs', 'fx_noisy'], {
      ...tw.env,
      ETL_JOBS_PATH: noisyJobs,
    })
    expect(r.code).toBe(0)
    // the bar was drawn and counted to the end…
    expect(r.raw).toMatch(/backfill \[[█░]+\] 0\/4/)
    expect(r.raw).toMatch(/backfill \[█+\] 4\/4/)
    // …and cleared when done: no line left on the screen holds a piece of it
    for (const line of r.lines) expect(line).not.toMatch(/backfill \[|[█░]{3}/)
    // every warning is a line of its own, in full; the info lines are held back while the bar is up
    const logs = r.lines.filter((l) => LOG_LINE.test(l))
    expect(logs.filter((l) => / WARN fx_noisy: a warning \(job: fx_noisy, partition: 2025-02-0\d, target: 2025-02-0\d\)$/.test(l))).toHaveLength(4)
    expect(logs.some((l) => l.includes('fx_noisy: an info line'))).toBe(false)
    expect(r.text).toMatch(/^fx_noisy\s+2025-02-04\s+SUCCESS/m)
    expect(r.text).toMatch(/: 4 SUCCESS/)
  })

  it('the terminal emulation of this file catches a log line written into a bar', () => {
    const bar = 'backfill [████░░░░] 1/2 x'
    const intoBar = `\x1b[1G${bar}09:00:00 WARN broke in\n`
    expect(screenLines(intoBar)).toEqual([`${bar}09:00:00 WARN broke in`])
    const above = `\x1b[1G${bar}\x1b[0K\x1b[1G\x1b[2K09:00:00 WARN above\r\n\x1b[1G${bar}\x1b[0K\x1b[1G\x1b[0J`
    expect(screenLines(above)).toEqual(['09:00:00 WARN above'])
  })

  it('logs stay JSON lines when stderr is not a terminal, even at one', async () => {
    // stderr into a pipe, stdout away: what reaches the terminal is exactly what cron would log
    const r = await etlPty(['run', '--date', '2025-01-17', '--jobs', 'fx_write'], { ...tw.env, FX_FAIL: '1' }, { redirect: ' 2>&1 >/dev/null | cat' })
    const lines = r.lines.filter((l) => l.trim() !== '')
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown>
      expect(record).toHaveProperty('level')
      expect(record).toHaveProperty('pid')
    }
    expect(lines.some((l) => /"level":50.*fx_write failed on purpose/.test(l))).toBe(true)
  })
})
