import { html, jsonForScript, raw, type Html } from '../html.js'
import type { Links } from '../links.js'
import { uplotAssets } from './assets.js'
import { CLIENT_JS } from './client.js'
import { CSS } from './style.js'

/** What every page renderer gets besides the model: where to link, and the live session's CSRF token. */
export interface PageEnv {
  readonly links: Links
  /** Set on `etl serve`: forms that change state carry it. Absent in the report, which has no forms. */
  readonly csrf?: string
}

export type NavId = 'partitions' | 'runs' | 'lineage' | 'health'

export interface Section {
  /** The element id (the report's #anchor). */
  readonly id: string
  /** The nav entry it belongs to. */
  readonly nav: NavId
  readonly title: string
  readonly body: Html
}

const NAV: Array<[NavId, string]> = [
  ['partitions', 'Partitions'],
  ['runs', 'Runs'],
  ['lineage', 'Lineage'],
  ['health', 'Health'],
]

/**
 * A whole document: one section on a live page, all of them in the report (which shows one at a
 * time by its #anchor). Scripts carry the nonce the live server's CSP allows; the report's CSP
 * in a meta element forbids every fetch, so it never reaches the network.
 */
export function renderDocument(options: { title: string; sections: readonly Section[]; env: PageEnv; generatedAt: Date; nonce?: string; active?: NavId }): string {
  const { js, css } = uplotAssets()
  const { links } = options.env
  const report = links.mode === 'report'
  const nonce = options.nonce ? raw(` nonce="${options.nonce}"`) : raw('')
  const href: Record<NavId, string> = { partitions: links.partitions(), runs: links.runs(), lineage: links.lineage(), health: links.health() }
  const csp = report ? html`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">` : ''
  const logout = options.env.csrf
    ? html`<form method="post" action="/console/logout"><input type="hidden" name="csrf" value="${options.env.csrf}"><button type="submit" id="logout">log out</button></form>`
    : ''
  const doc = html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">${csp}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · nightshift</title>
<style${nonce}>${raw(css)}${raw(CSS)}</style>
<script${nonce}>${raw(js)}</script>
</head><body class="${report ? 'report' : 'live'}">
<header class="top"><span class="brand">nightshift</span>
<nav>${NAV.map(([id, label]) => html`<a href="${href[id]}" class="${options.active === id ? 'on' : ''}" data-nav="${id}">${label}</a>`)}</nav>
<span class="meta"><span>${report ? 'report' : 'live'} · ${options.generatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC</span>${logout}</span></header>
<main>${options.sections.map((s) => html`<section class="page" id="${s.id}" data-nav="${s.nav}"><h1>${s.title}</h1>${s.body}</section>`)}</main>
<script${nonce}>${raw(CLIENT_JS)}</script>
</body></html>
`
  return doc.text
}

/** A chart: a box and its uPlot spec beside it, drawn by the client script. */
export function chart(id: string, spec: { title: string; x: number[]; series: Array<{ label: string; values: Array<number | null>; colour: string; dash?: boolean; fill?: string }>; unit?: string; band?: [number, number]; height?: number }): Html {
  return html`<div class="chart" id="${id}"><span class="muted">${spec.title}: ${spec.x.length ? '' : 'no data yet'}</span></div><script type="application/json" data-chart="${id}">${jsonForScript(spec)}</script>`
}

export const fmtTime = (d: Date | null | undefined) => (d ? d.toISOString().slice(0, 19).replace('T', ' ') : '-')
export const fmtMs = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`)
export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US')
