/** The console's stylesheet; state colours are shared by the grid, the timelines and the legend. */
export const STATE_COLOURS: Record<string, string> = {
  SUCCESS: '#2e9e5b',
  FAILED: '#d64545',
  PARTIAL: '#e8912d',
  SKIPPED: '#aab4be',
  RUNNING: '#3b82f6',
  GONE: '#8b5cf6',
  NEVER: '#eef1f4',
  STALE: '#e3c341',
}

export const FRESHNESS_COLOURS: Record<string, string> = {
  fresh: '#2e9e5b',
  behind: '#e3c341',
  failed: '#d64545',
  never: '#aab4be',
  external: '#dfe6ee',
}

const stateRules = Object.entries(STATE_COLOURS)
  .map(([s, c]) => `.s-${s}{background:${c}}`)
  .join('\n')

export const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2630;background:#f7f9fb}
header.top{display:flex;gap:18px;align-items:center;padding:10px 18px;background:#1d2630;color:#fff}
header.top .brand{font-weight:700;letter-spacing:.02em}
header.top nav a{color:#cfe0f0;text-decoration:none;margin-right:14px}
header.top nav a.on{color:#fff;border-bottom:2px solid #6cb4ff}
header.top .meta{margin-left:auto;font-size:12px;color:#9fb3c8;display:flex;gap:10px;align-items:center}
header.top form{margin:0}
main{padding:16px 18px}
h1{font-size:20px;margin:0 0 12px}
h2{font-size:16px;margin:22px 0 8px}
a{color:#1f6fc5}
table.list{border-collapse:collapse;background:#fff;font-size:13px}
table.list th,table.list td{border-bottom:1px solid #e3e8ee;padding:4px 8px;text-align:left;vertical-align:top}
table.list th{background:#f0f3f6;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#fff;border:1px solid #e3e8ee;padding:8px;overflow:auto;max-height:420px;font-size:12px}
.muted{color:#6a7785}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;color:#fff;margin-right:4px}
.legend{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0;font-size:12px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-2px;border:1px solid #0001}
form.filters{display:flex;gap:10px;align-items:end;flex-wrap:wrap;margin-bottom:10px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#4a5663}
input,select,button{font:inherit;padding:3px 6px}
button{cursor:pointer}
.gridwrap{overflow:auto;background:#fff;border:1px solid #e3e8ee}
table.grid{border-collapse:separate;border-spacing:1px;font-size:11px}
table.grid th.job{position:sticky;left:0;background:#fff;text-align:left;padding:0 8px;white-space:nowrap;font-weight:500;z-index:1}
table.grid th.job small{color:#6a7785;font-weight:400;margin-left:4px}
table.grid th.day{font-weight:400;color:#6a7785;min-width:14px;text-align:center}
table.grid td.c{height:18px;min-width:14px;padding:0;border-radius:2px}
table.grid td.c a{display:block;width:100%;height:18px}
table.grid td.c:hover{outline:2px solid #1d2630}
table.grid td.due{box-shadow:inset 0 -4px 0 #1d2630}
table.grid td.late{outline:2px solid #d64545;outline-offset:-2px}
.s-NEVER{border:1px dashed #c9d2db}
.s-GONE{background-image:repeating-linear-gradient(45deg,#0000 0 3px,#fff6 3px 6px)}
${stateRules}
details.run{background:#fff;border:1px solid #e3e8ee;margin-bottom:8px;padding:6px 10px}
details.run summary{cursor:pointer;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
details.run summary .id{font-family:ui-monospace,monospace;font-size:12px;color:#6a7785}
.copy{display:flex;gap:6px;align-items:center;margin:6px 0}
.copy code{background:#f0f3f6;padding:2px 6px}
.gantt{margin-top:6px;font-size:11px}
.gantt .row{display:flex;align-items:center;height:16px}
.gantt .label{width:260px;flex:none;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;color:#4a5663}
.gantt .track{position:relative;flex:1;height:12px;background:#f0f3f6}
.gantt .bar{position:absolute;top:0;height:12px;border-radius:2px;min-width:2px}
.axis{display:flex;justify-content:space-between;margin-left:260px;color:#6a7785;font-size:11px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:10px}
.card{background:#fff;border:1px solid #e3e8ee;padding:8px 12px;min-width:140px}
.card b{display:block;font-size:20px}
.chart{background:#fff;border:1px solid #e3e8ee;padding:6px;margin-bottom:10px;min-height:60px}
.lineage{background:#fff;border:1px solid #e3e8ee;overflow:auto}
.lineage svg text{font-size:12px;font-family:system-ui,sans-serif}
.lineage a:hover rect{stroke:#1d2630;stroke-width:2}
section.page{display:block}
body.report section.page{display:none}
body.report section.page.shown{display:block}
.login{max-width:360px;margin:80px auto;background:#fff;border:1px solid #e3e8ee;padding:20px}
.login input{width:100%;margin:6px 0 12px}
.error{color:#b42318}
`
