import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorLines } from '../helpers/cli.js'
import { consoleScenario, type ConsoleScenario } from '../helpers/console-scenario.js'
import { etlPty } from '../helpers/pty.js'

/*
 * The run console's text views and `etl report` as commands: at a terminal (a real pty) and in
 * a pipe, on the scenario's warehouse (a retried failure, a failure left, a rebuilt upstream, a
 * RUNNING row whose process is gone); each bad input one line and exit 2, a missing folder exit 3.
 */
let s: ConsoleScenario
let dir: string

beforeAll(async () => {
  s = await consoleScenario()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-cli-'))
}, 300_000)

afterAll(async () => {
  await s?.drop()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

const ESC = '\x1b['
const row = (text: string, job: string) => text.split('\n').find((l) => l.startsWith(`${job} `))?.slice(-6)

describe('etl status --grid', () => {
  it('prints one letter per day and state, with no escape codes in a pipe', async () => {
    const r = await s.etl(['status', '--grid', '--from', '2025-01-10', '--to', '2025-01-15'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).not.toContain(ESC)
    expect(row(r.stdout, 'build_fact_focus_events')).toBe('SSSFSS')
    expect(row(r.stdout, 'build_fact_homework_events')).toBe('SSFSSS')
    expect(row(r.stdout, 'aggregate_daily_metrics')).toBe('SSSS~S')
    expect(row(r.stdout, 'calc_custom_metrics')).toBe('SSSSSG')
    expect(r.stdout).toMatch(/^S success {2}F failed/m)
    expect(r.stdout).toContain('2025-01-10 to 2025-01-15')
  })

  it('colours the cells at a terminal', async () => {
    const r = await etlPty(['status', '--grid', '--from', '2025-01-10', '--to', '2025-01-15'], { ...s.env, LOG_LEVEL: 'warn' })
    expect(r.code).toBe(0)
    expect(r.raw).toContain(`${ESC}41;97mF${ESC}0m`)
    expect(r.raw).toContain(`${ESC}42;30mS${ESC}0m`)
    expect(r.text).toMatch(/build_fact_focus_events +SSSFSS/)
  })

  it('leaves colour out at a terminal with NO_COLOR', async () => {
    const r = await etlPty(['status', '--grid', '--to', '2025-01-15'], { ...s.env, LOG_LEVEL: 'warn', NO_COLOR: '1' })
    expect(r.code).toBe(0)
    expect(r.raw).not.toContain(`${ESC}41;97m`)
    expect(r.text).toContain('2025-01-02 to 2025-01-15')
  })

  it.each([
    [['--from', '2025-02-30'], /--from '2025-02-30' is not a calendar day/],
    [['--from', '2025-01-15', '--to', '2025-01-10'], /--from 2025-01-15 is after --to 2025-01-10/],
    [['--job', 'no_such_job'], /no_such_job/],
  ])('refuses bad input %j: one line, exit 2', async (args, message) => {
    const r = await s.etl(['status', '--grid', ...args])
    expect(r.code).toBe(2)
    expect(errorLines(r.stderr)).toHaveLength(1)
    expect(errorLines(r.stderr)[0]).toMatch(message)
  })
})

describe('etl runs', () => {
  it('lists invocations newest first with their kind, in a pipe and as JSON', async () => {
    const r = await s.etl(['runs'])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^started +kind +partitions +pairs +success +failed/)
    expect(r.stdout).toMatch(new RegExp(`retry +2025-01-14 +1 +1 .*${s.retryRunId}`))
    expect(r.stdout).toMatch(/backfill +2025-01-06\.\.2025-01-15 +76 +76/)
    const json = JSON.parse((await s.etl(['runs', '--json', '--limit', '2'])).stdout) as Array<{ invocation_id: string; kind: string }>
    expect(json).toHaveLength(2)
    const all = JSON.parse((await s.etl(['runs', '--json'])).stdout) as Array<{ invocation_id: string; kind: string; command: string | null }>
    expect(all.find((i) => i.invocation_id === s.failedRunId)).toMatchObject({ kind: 'run', command: `etl retry --run-id ${s.failedRunId}` })
    // each invocation's runs say which command made it
    expect(all.find((i) => i.invocation_id === s.retryRunId)).toMatchObject({ made_by: 'etl retry' })
    expect(all.find((i) => i.invocation_id === s.failedRunId)).toMatchObject({ made_by: 'etl run-job' })
  })

  it('shows one run: its pairs with a timeline, and the retry command, at a terminal', async () => {
    const r = await etlPty(['runs', 'show', s.failedRunId], { ...s.env, LOG_LEVEL: 'warn' })
    expect(r.code).toBe(0)
    expect(r.text).toMatch(/build_fact_sessions +2025-01-14 +FAILED .*#+.*42703: column s\.duration_seconds does not exist/)
    expect(r.text).toContain(`retry: etl retry --run-id ${s.failedRunId}`)
  })

  it('refuses a run id that is not one, and one that does not exist: one line, exit 2', async () => {
    const bad = await s.etl(['runs', 'show', 'yesterday'])
    expect(bad.code).toBe(2)
    expect(errorLines(bad.stderr)).toEqual([expect.stringMatching(/'yesterday' is not a run id/)])
    const id = randomUUID()
    const unknown = await s.etl(['runs', 'show', id])
    expect(unknown.code).toBe(2)
    expect(errorLines(unknown.stderr)).toEqual([expect.stringMatching(new RegExp(`no run with id ${id}`))])
    const limit = await s.etl(['runs', '--limit', '0'])
    expect(limit.code).toBe(2)
  })
})

describe('etl jobs --graph', () => {
  it('prints Mermaid by default and DOT when asked', async () => {
    const mermaid = await s.etl(['jobs', '--graph'])
    expect(mermaid.code, mermaid.stderr).toBe(0)
    expect(mermaid.stdout).toMatch(/^flowchart LR\n/)
    expect(mermaid.stdout).toContain('("build_fact_sessions")')
    expect(mermaid.stdout).toContain('["fact_sessions"]')
    const dot = await s.etl(['jobs', '--graph', 'dot'])
    expect(dot.stdout).toMatch(/^digraph nightshift \{/)
    expect(dot.stdout).toMatch(/label="build_fact_sessions", shape=box/)
    const bad = await s.etl(['jobs', '--graph', 'svg'])
    expect(bad.code).toBe(2)
    expect(errorLines(bad.stderr)).toHaveLength(1)
  })
})

describe('etl report', () => {
  it('writes one self-contained HTML file and says so at a terminal', async () => {
    const out = path.join(dir, 'report.html')
    const r = await etlPty(['report', '--out', out, '--from', '2025-01-06', '--to', '2025-01-15'], { ...s.env, LOG_LEVEL: 'warn' })
    expect(r.code).toBe(0)
    expect(r.text).toContain(`wrote ${out}: 27 jobs, 2025-01-06 to 2025-01-15`)
    const html = fs.readFileSync(out, 'utf8')
    expect(html).toContain("default-src 'none'")
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i)
    expect(html).toContain('uPlot')
    // the error message that is markup is escaped wherever it is shown
    expect(html).not.toContain('<script>window.__xss')
    expect(html).toContain('&lt;script&gt;window.__xss = 1&lt;/script&gt;')
  })

  it('refuses a folder that does not exist (exit 3) and a bad date (exit 2), one line each', async () => {
    const missing = await s.etl(['report', '--out', path.join(dir, 'no/such/folder/report.html')])
    expect(missing.code).toBe(3)
    expect(errorLines(missing.stderr)).toEqual([expect.stringMatching(/the folder .*no\/such\/folder does not exist/)])
    const date = await s.etl(['report', '--out', path.join(dir, 'r.html'), '--to', '2025-13-01'])
    expect(date.code).toBe(2)
    expect(errorLines(date.stderr)).toHaveLength(1)
    const noOut = await s.etl(['report'])
    expect(noOut.code).toBe(2)
  })
})
