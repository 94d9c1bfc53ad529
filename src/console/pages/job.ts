import type { ConsoleAttempt } from '../../engine/ledger/index.js'
import { redact } from '../../redact.js'
import { html, type Html } from '../html.js'
import { jobSeries } from '../model/job-series.js'
import { latestState, STATE_WORDS } from '../model/grid.js'
import type { ConsoleModel, JobView } from '../model/load.js'
import { jobAnchor } from '../links.js'
import { chart, fmtInt, fmtMs, fmtTime, type PageEnv, type Section } from './layout.js'

/** Job: rows and duration per partition with the `etl check` band, failures, check results, definition, schedule. */
export function jobPage(model: ConsoleModel, view: JobView, env: PageEnv, partition?: string): Section {
  const { job } = view
  const attempts = model.history.get(job.name) ?? []
  const series = jobSeries(attempts)
  const id = jobAnchor(job.name)
  const failures = attempts.filter((a) => a.status === 'FAILED' || a.status === 'PARTIAL' || a.gone).slice(-20).reverse()
  const checks = model.checks.filter((c) => c.job_name === job.name).slice(0, 30)
  const recent = attempts.slice(-25).reverse()
  const alerts = model.alerts.filter((a) => a.job === job.name)
  const run =
    env.csrf && job.partition !== 'none'
      ? html`<form method="post" action="/console/jobs/${encodeURIComponent(job.name)}/run" class="filters"><input type="hidden" name="csrf" value="${env.csrf}"><label>date<input type="date" name="date" value="${model.range.to}"></label><label><span>force</span><input type="checkbox" name="force" value="true"></label><button type="submit" id="run-job">run this partition</button></form>`
      : env.csrf
        ? html`<form method="post" action="/console/jobs/${encodeURIComponent(job.name)}/run" class="filters"><input type="hidden" name="csrf" value="${env.csrf}"><button type="submit" id="run-job">run now</button></form>`
        : ''
  // the grid's cell clicked: that partition's whole attempt history first
  const picked = partition ? attempts.filter((a) => (a.target ?? a.run_date) === partition) : []
  const pickedHtml = partition
    ? html`<div class="card picked" id="partition"><h2>Partition ${partition}</h2>${picked.length ? attemptsTable([...picked].reverse(), env) : html`<p class="muted">never run</p>`}</div>`
    : ''
  const body = html`<p><a href="${env.links.partitions()}" class="back">← partitions</a></p>
${pickedHtml}
<div class="cards">
<div class="card"><span class="muted">kind</span><b>${job.kind}</b>${job.partition === 'none' ? 'no partition' : `by ${job.partition}`}</div>
<div class="card"><span class="muted">latest</span><b>${STATE_WORDS[latestState(attempts)]}</b>${view.freshness}</div>
<div class="card"><span class="muted">schedule</span><b>${view.scheduleWords ?? 'none'}</b>${job.schedule ?? ''}</div>
<div class="card"><span class="muted">deadline</span><b>${job.deadline ?? '-'}</b>${view.due ? `partition ${view.due.target ?? '(none)'} due ${fmtTime(view.due.dueAt)}` : ''}</div>
</div>
${job.description ? html`<p>${job.description}</p>` : ''}
<p>depends on: ${job.dependsOn.length ? job.dependsOn.map((d, i) => html`${i ? ', ' : ''}<a href="${env.links.job(d)}">${d}</a>`) : 'nothing'} · reads ${view.sources.join(', ') || '-'} · writes ${view.target ?? '-'}</p>
<p>next runs: ${view.nextRuns.length ? view.nextRuns.map((d) => fmtTime(d)).join(' · ') + ' UTC' : '-'}</p>
${run}
${alerts.length ? html`<h2>etl check says</h2><ul class="alerts">${alerts.map((a) => html`<li><b>${a.type}</b> ${a.partition ?? ''}: ${a.message}</li>`)}</ul>` : ''}
<h2>Rows processed per partition</h2>
${chart(`${id}-rows`, {
    title: 'rows processed (newest SUCCESS of each partition)',
    x: series.x,
    unit: 'rows',
    series: [
      { label: 'rows', values: series.rows, colour: '#1f6fc5' },
      { label: 'trailing median', values: series.median, colour: '#2e9e5b', dash: true },
      { label: 'alert below (× 0.5)', values: series.floor, colour: '#d64545', dash: true },
    ],
    band: [2, 3],
  })}
<h2>Duration per partition</h2>
${chart(`${id}-duration`, { title: 'duration', x: series.x, unit: 'ms', series: [{ label: 'duration ms', values: series.durationMs, colour: '#8b5cf6' }] })}
<h2>Failures</h2>
${failures.length ? html`<table class="list failures"><tr><th>started</th><th>partition</th><th>status</th><th>attempt</th><th>error</th></tr>${failures.map((a) => html`<tr><td>${fmtTime(a.started_at)}</td><td>${a.target ?? '-'}</td><td>${a.gone ? 'RUNNING, process gone' : a.status}</td><td class="num">${a.attempt}</td><td><pre>${redact(a.error_message ?? '')}</pre></td></tr>`)}</table>` : html`<p class="muted">none in the history shown</p>`}
<h2>Data checks</h2>
${checks.length ? html`<table class="list"><tr><th>partition</th><th>check</th><th>severity</th><th>status</th><th class="num">failing rows</th><th>message</th></tr>${checks.map((c) => html`<tr><td>${c.target_date ?? '-'}</td><td>${c.check_name}</td><td>${c.severity}</td><td>${c.status}</td><td class="num">${c.failing_rows}</td><td>${c.message ?? ''}</td></tr>`)}</table>` : html`<p class="muted">no check results in the last 14 days</p>`}
<h2>Recent attempts</h2>
${attemptsTable(recent, env)}
<h2>Definition</h2>
<p class="muted">${job.file}</p>
<pre class="definition">${view.definition}</pre>`
  return { id, nav: 'partitions', title: job.name, body }
}

function attemptsTable(attempts: readonly ConsoleAttempt[], env: PageEnv): Html {
  if (attempts.length === 0) return html`<p class="muted">never run</p>`
  return html`<table class="list attempts"><tr><th>started</th><th>partition</th><th>status</th><th class="num">rows</th><th class="num">duration</th><th class="num">attempt</th><th>run</th><th>error</th></tr>${attempts.map(
    (a) =>
      html`<tr><td>${fmtTime(a.started_at)}</td><td>${a.target ?? '-'}</td><td>${a.status}</td><td class="num">${fmtInt(a.rows_processed)}</td><td class="num">${fmtMs(a.duration_ms)}</td><td class="num">${a.attempt}</td><td>${a.invocation_id ? html`<a href="${env.links.run(a.invocation_id)}">${a.invocation_id.slice(0, 8)}</a>` : '-'}</td><td>${a.gone ? 'process gone' : a.error_message ? redact(a.error_message).replace(/\s+/g, ' ').slice(0, 200) : ''}</td></tr>`,
  )}</table>`
}
