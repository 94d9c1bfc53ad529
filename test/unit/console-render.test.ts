import { describe, expect, it } from 'vitest'
import type { RegisteredJob } from '../../src/engine/job.js'
import type { ConsoleAttempt } from '../../src/engine/ledger/index.js'
import { escapeHtml, html, jsonForScript, raw } from '../../src/console/html.js'
import { liveLinks } from '../../src/console/links.js'
import { nextRuns, scheduleInWords } from '../../src/console/model/cron.js'
import { buildGrid, latestState } from '../../src/console/model/grid.js'
import { buildLineage } from '../../src/console/model/lineage.js'
import type { ConsoleModel, JobView } from '../../src/console/model/load.js'
import { describeInvocation } from '../../src/console/model/runs.js'
import { renderPage, renderReport } from '../../src/console/render.js'
import { graphText } from '../../src/console/text/graph.js'
import { gridText } from '../../src/console/text/grid.js'

const EVIL = `<script>alert("job")</script>`
const job = (name: string, extra: Partial<RegisteredJob> = {}): RegisteredJob => ({
  name,
  kind: 'fact',
  file: `/jobs/${name}.ts`,
  partition: 'day',
  pipeline: true,
  schedule: '0 2 * * *',
  timezone: 'UTC',
  dependsOn: [],
  description: undefined,
  definition: { kind: 'fact', name, target: `${name}_t`, source: { table: 'public.s' }, select: `select '</script><script>alert(1)</script>'\nfrom x` },
  ...extra,
})

const attempt = (a: Partial<ConsoleAttempt>): ConsoleAttempt => ({
  id: 'r1',
  invocation_id: '11111111-1111-1111-1111-111111111111',
  job_name: EVIL,
  target: '2025-01-14',
  run_date: '2025-01-15',
  status: 'SUCCESS',
  rows_processed: 10,
  duration_ms: 100,
  error_message: null,
  started_at: new Date('2025-01-15T02:00:00Z'),
  completed_at: new Date('2025-01-15T02:00:01Z'),
  attempt: 1,
  host: 'h',
  pid: 1,
  gone: false,
  ...a,
})

/** A model by hand: a job whose name, description, SQL and error message are all markup. */
function evilModel(): ConsoleModel {
  const evil = job(EVIL, { description: `<img src=x onerror=alert(2)>`, dependsOn: ['up'] })
  const up = job('up')
  const attempts = [
    attempt({ status: 'FAILED', error_message: `<script>alert("error")</script>`, attempt: 1 }),
    attempt({ id: 'r2', status: 'SUCCESS', attempt: 2, started_at: new Date('2025-01-15T03:00:00Z') }),
  ]
  const range = { from: '2025-01-13', to: '2025-01-15' }
  const grid = buildGrid([evil, up], attempts, range, new Map(), new Map())
  const view = (j: RegisteredJob): JobView => ({ job: j, scheduleWords: 'every day at 02:00 UTC', nextRuns: [], due: null, sources: ['public.s'], target: `${j.name}_t`, definition: String(j.definition.select), freshness: 'fresh' })
  return {
    generatedAt: new Date('2025-01-16T09:00:00Z'),
    timezone: 'UTC',
    range,
    historyFrom: '2025-01-01',
    jobs: [view(evil), view(up)],
    grid,
    history: new Map([[EVIL, attempts]]),
    invocations: [
      describeInvocation({
        invocation_id: '11111111-1111-1111-1111-111111111111',
        started_at: attempts[0]!.started_at,
        ended_at: new Date('2025-01-15T03:00:01Z'),
        pairs: 2,
        jobs: 1,
        partitions: 1,
        first_target: '2025-01-14',
        last_target: '2025-01-14',
        success: 1,
        failed: 1,
        partial: 0,
        skipped: 0,
        running: 0,
        retried: 0,
        rows_processed: 10,
        via: '<b>via</b>',
        made_by: null,
      }),
    ],
    invocationAttempts: new Map([['11111111-1111-1111-1111-111111111111', attempts]]),
    alerts: [{ type: 'failed', job: EVIL, partition: '2025-01-14', message: `<script>alert("alert")</script>`, details: {} }],
    rates: [],
    checks: [],
    cache: null,
    lineage: buildLineage([evil, up], new Map()),
  }
}

/** Every <script> the document opens is one of ours: uPlot, the client, and the charts' JSON. */
function scriptsOf(doc: string): string[] {
  return [...doc.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!.trim())
}

describe('the console escapes untrusted text', () => {
  it('escapes interpolations unless they are Html', () => {
    expect(html`<td title="${'"x"'}">${'<b>'}${raw('<i>ok</i>')}</td>`.text).toBe('<td title="&quot;x&quot;">&lt;b&gt;<i>ok</i></td>')
    expect(escapeHtml(`'&`)).toBe('&#39;&amp;')
    expect(jsonForScript({ s: '</script><!--' }).text).toBe('{"s":"\\u003c/script\\u003e\\u003c!--"}')
  })

  it('renders a job name, description, SQL, error and alert that are markup as text on every page and in the report', () => {
    const model = evilModel()
    const docs = [
      renderPage(model, { links: liveLinks, csrf: 'c' }, 'partitions'),
      renderPage(model, { links: liveLinks, csrf: 'c' }, 'runs'),
      renderPage(model, { links: liveLinks, csrf: 'c' }, 'lineage'),
      renderPage(model, { links: liveLinks, csrf: 'c' }, 'health'),
      renderPage(model, { links: liveLinks, csrf: 'c' }, 'job', { job: EVIL }),
      renderReport(model),
    ]
    for (const doc of docs) {
      expect(doc).not.toMatch(/<script>alert|<img src=x|<b>via/)
      for (const attrs of scriptsOf(doc)) expect(['', 'type="application/json" data-chart']).toContain(attrs.replace(/ nonce="[^"]*"/, '').replace(/="[^"]*-(rows|duration)"|="health-rate"/, ''))
    }
    expect(docs[4]).toContain('&lt;script&gt;alert(&quot;error&quot;)&lt;/script&gt;')
    expect(docs[4]).toContain(`/console/jobs/${encodeURIComponent(EVIL)}/run`)
    expect(docs[5]).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;')
  })
})

describe('the console model', () => {
  it('takes a partition’s latest attempt that did work; a RUNNING whose process is gone is GONE', () => {
    expect(latestState([])).toBe('NEVER')
    expect(latestState([attempt({ status: 'FAILED' }), attempt({ status: 'SKIPPED' })])).toBe('FAILED')
    expect(latestState([attempt({ status: 'SKIPPED' })])).toBe('SKIPPED')
    expect(latestState([attempt({ status: 'RUNNING', gone: true })])).toBe('GONE')
    expect(latestState([attempt({ status: 'RUNNING' })])).toBe('RUNNING')
  })

  it('spans a week over its days and marks a partition rebuilt upstream as stale', () => {
    const weekly = job('weekly', { partition: 'week' })
    const daily = job('daily')
    const rows = buildGrid([weekly, daily], [attempt({ job_name: 'daily', target: '2025-01-14' }), attempt({ job_name: 'weekly', target: '2025-01-13' })], { from: '2025-01-10', to: '2025-01-20' }, new Map([['daily', new Map([['2025-01-14', 'up']])]]), new Map())
    const w = rows.find((r) => r.job.name === 'weekly')!
    expect(w.cells.map((c) => [c.start, c.span, c.state])).toEqual([
      ['2025-01-06', 3, 'NEVER'],
      ['2025-01-13', 7, 'SUCCESS'],
      ['2025-01-20', 1, 'NEVER'],
    ])
    expect(rows.find((r) => r.job.name === 'daily')!.cells.find((c) => c.start === '2025-01-14')).toMatchObject({ state: 'STALE', staleBecause: 'up' })
    expect(gridText(rows, { from: '2025-01-10', to: '2025-01-20' }, { colour: false })).toMatch(/weekly {2}\.--S------\./)
  })

  it('marks the partition due by a deadline, and outlines it when it is not SUCCESS', () => {
    const a = job('a', { deadline: '06:00' })
    const b = job('b', { deadline: '06:00' })
    const attempts = [attempt({ job_name: 'a', target: '2025-01-15' }), attempt({ job_name: 'b', target: '2025-01-15', status: 'FAILED' })]
    const due = new Map([['a', '2025-01-15'], ['b', '2025-01-15']])
    const rows = buildGrid([a, b], attempts, { from: '2025-01-14', to: '2025-01-15' }, new Map(), due)
    expect(rows[0]!.cells.map((c) => c.late ?? false)).toEqual([false, false])
    expect(rows[1]!.cells.map((c) => c.late ?? false)).toEqual([false, true])
    const model = { ...evilModel(), grid: rows, jobs: [a, b].map((j) => ({ ...evilModel().jobs[1]!, job: j, due: { target: '2025-01-15', dueAt: new Date('2025-01-16T06:00:00Z') } })) }
    const doc = renderPage(model, { links: liveLinks }, 'partitions')
    expect(doc).toMatch(/<td class="c s-SUCCESS due" colspan="1" data-state="SUCCESS" data-day="2025-01-15"/)
    expect(doc).toMatch(/<td class="c s-FAILED due late" colspan="1" data-state="FAILED" data-day="2025-01-15" title="b · 2025-01-15: failed · LATE/)
    expect(doc).toContain('deadline 06:00')
  })

  it('says a schedule in words and lists its next run times, across a DST change', () => {
    expect(scheduleInWords('0 2 * * *', 'UTC')).toBe('every day at 02:00 UTC')
    expect(scheduleInWords('5 * * * *', 'UTC')).toBe('every hour at :05')
    expect(scheduleInWords('*/15 * * * *', 'UTC')).toBe('every 15 minutes')
    expect(scheduleInWords('0 4 * * 1', 'UTC')).toBe('every Monday at 04:00 UTC')
    expect(scheduleInWords('0 5 2 * *', 'UTC')).toBe('on day 2 of every month at 05:00 UTC')
    expect(scheduleInWords('30 16 * * 1-5', 'America/New_York')).toBe('Monday to Friday at 16:30 America/New_York')
    expect(nextRuns('0 4 * * 1', 'UTC', new Date('2025-01-15T00:00:00Z'), 2).map((d) => d.toISOString())).toEqual(['2025-01-20T04:00:00.000Z', '2025-01-27T04:00:00.000Z'])
    // 02:30 does not exist in Berlin on 2025-03-30: that day is skipped, not moved
    expect(nextRuns('30 2 * * *', 'Europe/Berlin', new Date('2025-03-29T12:00:00Z'), 2).map((d) => d.toISOString())).toEqual(['2025-03-31T00:30:00.000Z', '2025-04-01T00:30:00.000Z'])
    expect(nextRuns('not a cron', 'UTC', new Date())).toEqual([])
  })

  it('tells a retry from a run and a backfill, and offers the retry command only when something failed', () => {
    const base = { invocation_id: 'i', started_at: new Date(), ended_at: null, pairs: 2, jobs: 1, partitions: 1, first_target: null, last_target: null, success: 2, failed: 0, partial: 0, skipped: 0, running: 0, retried: 0, rows_processed: 0, via: null, made_by: null }
    expect(describeInvocation(base)).toMatchObject({ kind: 'run', command: null })
    expect(describeInvocation({ ...base, partitions: 3 }).kind).toBe('backfill')
    expect(describeInvocation({ ...base, retried: 2, failed: 1, success: 1 })).toMatchObject({ kind: 'retry', command: 'etl retry --run-id i' })
    // the command recorded with the runs wins over what the rows suggest
    expect(describeInvocation({ ...base, partitions: 3, made_by: 'etl retry' }).kind).toBe('retry')
    expect(describeInvocation({ ...base, made_by: 'etl backfill' }).kind).toBe('backfill')
    expect(describeInvocation({ ...base, retried: 2, made_by: 'etl run-job' }).kind).toBe('run')
    expect(describeInvocation({ ...base, partitions: 3, made_by: 'etl demo' }).kind).toBe('backfill')
  })

  it('draws lineage from source and target tables and dependsOn, as Mermaid and DOT', () => {
    const a = job('a', { definition: { kind: 'fact', source: { table: 'public.s' }, target: 'fact_a' } })
    const b = job('b', { dependsOn: ['a'], definition: { kind: 'rollup', target: 'agg_b' } })
    const g = buildLineage([a, b], new Map([['a', 'fresh']]))
    expect(g.edges).toEqual([
      { from: 'source:public.s', to: 'job:a' },
      { from: 'job:a', to: 'table:fact_a' },
      { from: 'job:b', to: 'table:agg_b' },
      { from: 'table:fact_a', to: 'job:b' },
    ])
    expect(g.nodes.find((n) => n.id === 'table:fact_a')).toMatchObject({ freshness: 'fresh', column: 2 })
    expect(graphText(g, 'mermaid')).toContain('flowchart LR')
    expect(graphText(g, 'dot')).toContain('rankdir=LR')
  })
})
