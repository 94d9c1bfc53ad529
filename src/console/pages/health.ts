import { percent } from '../../engine/ledger/index.js'
import { html } from '../html.js'
import type { ConsoleModel } from '../model/load.js'
import { chart, type PageEnv, type Section } from './layout.js'

/** Health: what `etl check` says, the daily success rate, the cache's hit rate when Redis is set. */
export function healthPage(model: ConsoleModel, env: PageEnv): Section {
  const alerts = model.alerts
  const worked = model.rates.reduce((n, r) => n + r.success + r.failed + r.partial, 0)
  const success = model.rates.reduce((n, r) => n + r.success, 0)
  const cache = model.cache
  const cacheHtml =
    cache === null
      ? html`<p class="muted">REDIS_URL is not set: no cache to report on.</p>`
      : typeof cache === 'string'
        ? html`<p class="error">${cache}</p>`
        : (() => {
            const hits = cache.families.reduce((n, f) => n + f.hits, 0)
            const misses = cache.families.reduce((n, f) => n + f.misses, 0)
            return html`<div class="cards"><div class="card"><span class="muted">hit rate (nightshift's reads)</span><b id="cache-rate">${percent(hits + misses ? hits / (hits + misses) : null)}</b>${hits} hits · ${misses} misses</div><div class="card"><span class="muted">server keyspace</span><b>${percent(cache.server.hits + cache.server.misses ? cache.server.hits / (cache.server.hits + cache.server.misses) : null)}</b>${cache.server.usedMemory ?? ''}</div></div>
<table class="list"><tr><th>family</th><th class="num">keys</th><th class="num">hits</th><th class="num">misses</th><th class="num">hit rate</th></tr>${cache.families.map((f) => html`<tr><td>${f.family}</td><td class="num">${f.keys}</td><td class="num">${f.hits}</td><td class="num">${f.misses}</td><td class="num">${percent(f.hits + f.misses ? f.hits / (f.hits + f.misses) : null)}</td></tr>`)}</table>`
          })()
  const body = html`<div class="cards">
<div class="card"><span class="muted">etl check</span><b id="check-verdict">${alerts.length ? `${alerts.length} alert${alerts.length === 1 ? '' : 's'}` : 'ok'}</b>${alerts.length ? 'exit 1' : 'no alerts'}</div>
<div class="card"><span class="muted">success rate, ${model.rates.length} days</span><b>${percent(worked ? success / worked : null)}</b>${success} of ${worked} attempts</div>
</div>
<h2>What etl check says</h2>
${alerts.length ? html`<table class="list alerts"><tr><th>alert</th><th>job</th><th>partition</th><th>message</th></tr>${alerts.map((a) => html`<tr data-alert="${a.type}"><td>${a.type}</td><td><a href="${env.links.job(a.job)}">${a.job}</a></td><td>${a.partition ?? '-'}</td><td>${a.message}</td></tr>`)}</table>` : html`<p>ok: no alerts (failed runs in the last 24h, deadlines, rows below 0.5 × the median of 7 partitions)</p>`}
<h2>Success rate by day</h2>
${chart('health-rate', {
    title: 'success rate by the day runs started',
    x: model.rates.map((r) => Date.parse(`${r.date}T00:00:00Z`) / 1000),
    unit: '%',
    series: [{ label: 'success %', values: model.rates.map((r) => (r.success_rate === null ? null : Math.round(r.success_rate * 1000) / 10)), colour: '#2e9e5b', fill: 'rgba(46,158,91,0.15)' }],
    height: 180,
  })}
<table class="list"><tr><th>day</th><th class="num">success rate</th><th class="num">success</th><th class="num">failed</th><th class="num">partial</th><th class="num">skipped</th><th class="num">running</th></tr>${[...model.rates].reverse().map((d) => html`<tr><td>${d.date}</td><td class="num">${percent(d.success_rate)}</td><td class="num">${d.success}</td><td class="num">${d.failed}</td><td class="num">${d.partial}</td><td class="num">${d.skipped}</td><td class="num">${d.running}</td></tr>`)}</table>
<h2>Cache</h2>
${cacheHtml}`
  return { id: 'health', nav: 'health', title: 'Health', body }
}
