import type { ConsoleAttempt } from '../../engine/ledger/index.js'
import { redact } from '../../redact.js'
import { dateRange } from '../../time/calendar.js'
import { html, type Html } from '../html.js'
import { STATE_WORDS, type Cell, type CellState } from '../model/grid.js'
import type { ConsoleModel } from '../model/load.js'
import { fmtInt, fmtMs, fmtTime, type PageEnv, type Section } from './layout.js'

/** Partitions: jobs × days, each cell its partition's latest state; hover for its attempts, click for the job. */
export function partitionsPage(model: ConsoleModel, env: PageEnv, filter: { job?: string; kind?: string } = {}): Section {
  const days = dateRange(model.range.from, model.range.to)
  const kinds = [...new Set(model.jobs.map((j) => j.job.kind))].sort()
  const live = env.links.mode === 'live'
  const filters = html`<form class="filters" method="get" action="${env.links.partitions()}">
<label>job<input id="f-job" name="job" value="${filter.job ?? ''}" placeholder="name contains"></label>
<label>kind<select id="f-kind" name="kind"><option value="">any</option>${kinds.map((k) => html`<option${filter.kind === k ? html` selected` : ''}>${k}</option>`)}</select></label>
${live
    ? html`<label>from<input name="from" type="date" value="${model.range.from}"></label><label>to<input name="to" type="date" value="${model.range.to}"></label><button type="submit">show</button>`
    : html`<span class="muted">${model.range.from} to ${model.range.to} (set with etl report --from/--to)</span>`}
</form>`
  const months = monthHeader(days)
  const head = html`<tr><th class="job"></th>${months}</tr><tr><th class="job">job</th>${days.map((d) => html`<th class="day" title="${d}">${Number(d.slice(8))}</th>`)}</tr>`
  const rows = model.grid.map((row) => {
    const view = model.jobs.find((v) => v.job.name === row.job.name)!
    const dueTarget = view.due?.target ?? null
    return html`<tr data-job="${row.job.name}" data-kind="${row.job.kind}"><th class="job"><a href="${env.links.job(row.job.name)}">${row.job.name}</a><small>${row.job.kind}${row.job.partition !== 'day' ? ` · ${row.job.partition === 'none' ? 'no partition' : row.job.partition}` : ''}${row.job.deadline ? ` · deadline ${row.job.deadline}` : ''}</small></th>${row.cells.map((c) => cell(row.job.name, c, env, c.start === dueTarget, row.job.partition !== 'none'))}</tr>`
  })
  const body = html`${filters}${legend()}
<div class="gridwrap"><table class="grid" id="grid">${head}${rows}</table></div>
<p class="muted">A cell is a partition's latest state (a week or a month spans its days; a job without partition, one bar: its latest run). A dark underline marks the partition due by the job's deadline; a red outline, one past it and not SUCCESS.</p>`
  return { id: 'partitions', nav: 'partitions', title: 'Partitions', body }
}

function cell(job: string, c: Cell, env: PageEnv, due: boolean, partitioned: boolean): Html {
  const cls = `c s-${c.state}${due ? ' due' : ''}${c.late ? ' late' : ''}`
  return html`<td class="${cls}" colspan="${c.span}" data-state="${c.state}" data-day="${c.start}" title="${tooltip(job, c)}"><a href="${env.links.job(job, partitioned ? c.start : undefined)}" aria-label="${job} ${c.start} ${c.state}"></a></td>`
}

function tooltip(job: string, c: Cell): string {
  const lines = [`${job} · ${c.start}: ${STATE_WORDS[c.state as CellState]}${c.staleBecause ? ` (${c.staleBecause})` : ''}${c.late ? ' · LATE' : ''}`]
  const shown = c.attempts.slice(-6)
  if (c.attempts.length > shown.length) lines.push(`… ${c.attempts.length - shown.length} earlier attempts`)
  for (const a of shown) lines.push(attemptLine(a))
  return lines.join('\n')
}

export function attemptLine(a: ConsoleAttempt): string {
  const error = a.error_message ? ` — ${redact(a.error_message).replace(/\s+/g, ' ').slice(0, 160)}` : ''
  return `#${a.attempt} ${a.status}${a.gone ? ' (process gone)' : ''} ${fmtTime(a.started_at)} · ${fmtInt(a.rows_processed)} rows · ${fmtMs(a.duration_ms)}${error}`
}

function monthHeader(days: string[]): Html[] {
  const out: Html[] = []
  let i = 0
  while (i < days.length) {
    const month = days[i]!.slice(0, 7)
    let n = 0
    while (i + n < days.length && days[i + n]!.startsWith(month)) n++
    out.push(html`<th class="day" colspan="${n}">${month}</th>`)
    i += n
  }
  return out
}

export function legend(): Html {
  const states: CellState[] = ['SUCCESS', 'FAILED', 'PARTIAL', 'SKIPPED', 'RUNNING', 'GONE', 'STALE', 'NEVER']
  return html`<div class="legend">${states.map((s) => html`<span><i class="s-${s}"></i>${STATE_WORDS[s]}</span>`)}</div>`
}
