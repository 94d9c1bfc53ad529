import { html, type Html } from '../html.js'
import type { ConsoleModel } from '../model/load.js'
import { timeline, type Invocation } from '../model/runs.js'
import { attemptLine } from './partitions.js'
import { STATE_COLOURS } from './style.js'
import { fmtInt, fmtMs, fmtTime, type PageEnv, type Section } from './layout.js'

/** The most bars one timeline draws; `etl runs show ID` lists them all. */
const MAX_BARS = 300

/** Runs: invocations newest first, each with its pairs as a Gantt timeline and the command that finishes it. */
export function runsPage(model: ConsoleModel, env: PageEnv): Section {
  const body = model.invocations.length
    ? html`${model.invocations.map((inv, i) => invocation(model, inv, env, i === 0))}`
    : html`<p>No runs recorded yet: <code>etl run</code> or <code>etl demo</code> records some.</p>`
  return { id: 'runs', nav: 'runs', title: 'Runs', body }
}

function counts(inv: Invocation, gone: number): Html {
  const parts: Array<[string, number]> = [
    ['SUCCESS', inv.success],
    ['FAILED', inv.failed],
    ['PARTIAL', inv.partial],
    ['SKIPPED', inv.skipped],
    ['RUNNING', inv.running],
  ]
  return html`${parts.filter(([, n]) => n > 0).map(([s, n]) => html`<span class="badge" style="background:${STATE_COLOURS[s]}">${n} ${s}</span>`)}${gone ? html`<span class="badge" style="background:${STATE_COLOURS.GONE}">${gone} process gone</span>` : ''}`
}

function invocation(model: ConsoleModel, inv: Invocation, env: PageEnv, open: boolean): Html {
  const attempts = model.invocationAttempts.get(inv.invocation_id) ?? []
  const { bars, spanMs } = timeline(attempts, model.generatedAt)
  const range = inv.first_target ? (inv.first_target === inv.last_target ? inv.first_target : `${inv.first_target} → ${inv.last_target}`) : 'no partition'
  const shown = bars.slice(0, MAX_BARS)
  const retry =
    inv.command && env.csrf
      ? html`<form method="post" action="/console/runs/${encodeURIComponent(inv.invocation_id)}/retry" class="copy"><input type="hidden" name="csrf" value="${env.csrf}"><button type="submit">retry its failures now</button></form>`
      : ''
  return html`<details class="run" id="run-${inv.invocation_id}" data-kind="${inv.kind}"${open ? html` open` : ''}>
<summary><b>${inv.kind}</b><span>${fmtTime(inv.started_at)}</span><span>${range}</span><span>${inv.pairs} pairs · ${inv.jobs} jobs · ${fmtInt(inv.rows_processed)} rows · ${fmtMs(inv.ended_at ? inv.ended_at.getTime() - inv.started_at.getTime() : null)}</span>${counts(inv, attempts.filter((a) => a.gone).length)}${inv.via ? html`<span class="muted">via ${inv.via}</span>` : ''}<span class="id">${inv.invocation_id}</span></summary>
${inv.command ? html`<div class="copy">finish it: <code>${inv.command}</code><button type="button" data-copy="${inv.command}">copy</button></div>${retry}` : html`<div class="copy muted">nothing to retry</div>`}
<div class="gantt" data-span-ms="${spanMs}">${shown.map(
    (b) =>
      html`<div class="row"><span class="label">${b.attempt.job_name} · ${b.attempt.target ?? 'no partition'}</span><span class="track"><span class="bar s-${b.attempt.gone ? 'GONE' : b.attempt.status}" data-status="${b.attempt.status}" style="left:${(b.left * 100).toFixed(3)}%;width:${(b.width * 100).toFixed(3)}%" title="${attemptLine(b.attempt)}"></span></span></div>`,
  )}
<div class="axis"><span>0</span><span>${fmtMs(Math.round(spanMs / 2))}</span><span>${fmtMs(spanMs)}</span></div>
${bars.length > shown.length ? html`<p class="muted">… and ${bars.length - shown.length} more: <code>etl runs show ${inv.invocation_id}</code></p>` : ''}</div>
</details>`
}
