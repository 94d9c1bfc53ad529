import { dateRange, type IsoDate } from '../../time/calendar.js'
import type { CellState, GridRow } from '../model/grid.js'

/**
 * `etl status --grid`: the Partitions grid in a terminal, one character per day. Letters carry
 * the state, so the grid reads without colour (a pipe, NO_COLOR); at a terminal each cell is
 * also coloured. A week or month is its letter then `-` over its other days.
 */
const LETTER: Record<CellState, string> = { SUCCESS: 'S', FAILED: 'F', PARTIAL: 'P', SKIPPED: 'k', RUNNING: 'R', GONE: 'G', NEVER: '.', STALE: '~' }
const ANSI: Record<CellState, string> = { SUCCESS: '42;30', FAILED: '41;97', PARTIAL: '43;30', SKIPPED: '47;30', RUNNING: '44;97', GONE: '45;97', NEVER: '0', STALE: '103;30' }

export function gridText(rows: readonly GridRow[], range: { from: IsoDate; to: IsoDate }, options: { colour: boolean }): string {
  const days = dateRange(range.from, range.to)
  const width = Math.max(3, ...rows.map((r) => r.job.name.length))
  const paint = (state: CellState, text: string) => (options.colour && state !== 'NEVER' ? `\x1b[${ANSI[state]}m${text}\x1b[0m` : text)
  const header1 = `${' '.repeat(width)}  ${days.map((d, i) => (i === 0 || d.endsWith('-01') ? d.slice(5, 7) : ' ')).join('')}`
  const header2 = `${'job'.padEnd(width)}  ${days.map((d) => d.slice(9)).join('')}`
  const lines = rows.map((r) => {
    const cells = r.cells.map((c) => paint(c.state, LETTER[c.state] + '-'.repeat(Math.max(0, c.span - 1))))
    return `${r.job.name.padEnd(width)}  ${cells.join('')}`
  })
  const legend = `S success  F failed  P partial  k skipped  R running  G running, process gone  ~ stale (upstream rebuilt)  . never run   ${range.from} to ${range.to}`
  return [header1.trimEnd(), header2, ...lines, '', legend].join('\n')
}
