import { html } from '../html.js'
import type { ConsoleModel } from '../model/load.js'
import { FRESHNESS_COLOURS } from './style.js'
import type { PageEnv, Section } from './layout.js'

const W = 210
const H = 30
const GAP_X = 70
const GAP_Y = 14

/** Lineage: jobs (rounded boxes) and tables (square boxes) in columns, coloured by freshness; a job opens its page. */
export function lineagePage(model: ConsoleModel, env: PageEnv): Section {
  const g = model.lineage
  const x = (c: number) => 10 + c * (W + GAP_X)
  const y = (r: number) => 10 + r * (H + GAP_Y)
  const at = new Map(g.nodes.map((n) => [n.id, n]))
  const width = x(g.columns) + 10
  const height = y(g.rows) + 10
  const edges = g.edges.map((e) => {
    const a = at.get(e.from)!
    const b = at.get(e.to)!
    const x1 = x(a.column) + W
    const y1 = y(a.row) + H / 2
    const x2 = x(b.column)
    const y2 = y(b.row) + H / 2
    const mid = (x1 + x2) / 2
    return html`<path class="edge" d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}" fill="none" stroke="#9fb0c2" stroke-width="1.2" marker-end="url(#arrow)"/>`
  })
  const nodes = g.nodes.map((n) => {
    const fill = FRESHNESS_COLOURS[n.freshness]!
    const text = n.freshness === 'external' || n.freshness === 'behind' || n.freshness === 'never' ? '#1d2630' : '#fff'
    const label = n.label.length > 30 ? `${n.label.slice(0, 29)}…` : n.label
    const box = html`<g class="node" data-kind="${n.kind}" data-id="${n.id}" data-freshness="${n.freshness}"><rect x="${x(n.column)}" y="${y(n.row)}" width="${W}" height="${H}" rx="${n.kind === 'job' ? 12 : 2}" fill="${fill}" stroke="${n.kind === 'source' ? '#9fb0c2' : '#0002'}"/><text x="${x(n.column) + 10}" y="${y(n.row) + H / 2 + 4}" fill="${text}">${n.kind === 'job' ? '' : '▦ '}${label}</text><title>${n.kind}: ${n.label} (${n.freshness})</title></g>`
    return n.job ? html`<a href="${env.links.job(n.job)}">${box}</a>` : box
  })
  const body = html`<div class="legend">${Object.entries(FRESHNESS_COLOURS).map(([k, c]) => html`<span><i style="background:${c}"></i>${k === 'external' ? 'source table' : k}</span>`)}<span>rounded: job · square: table</span></div>
<div class="lineage"><svg id="lineage-graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#9fb0c2"/></marker></defs>
${edges}${nodes}</svg></div>
<p class="muted">Fresh: the latest partition that has ended is SUCCESS (a job without partition: a SUCCESS within a day). A table takes the colour of the job that writes it.</p>`
  return { id: 'lineage', nav: 'lineage', title: 'Lineage', body }
}
