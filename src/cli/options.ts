import fs from 'node:fs'
import path from 'node:path'
import { InvalidArgumentError } from 'commander'
import { EtlError } from '../errors.js'
import { parseDate, type IsoDate } from '../time/calendar.js'

/*
 * Option parsing and plain output for the command definitions. Kept free of the engine, kysely,
 * zod and pino so that `etl --help` and flag errors cost little more than starting node.
 */

/** commander argParser for --date/--from/--to: a calendar day, or BAD_DATE (exit 2) in our own words. */
export const dateOption =
  (flag: string) =>
  (value: string): IsoDate =>
    parseDate(value, flag)

export function positiveInt(_flag: string, max = 1_000_000) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`must be a whole number from 1 to ${max}`)
    }
    return Number(value)
  }
}

export function list(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean)
  if (names.length === 0) throw new InvalidArgumentError('must name at least one job, separated by commas')
  return names
}

/** How many ledger rows `etl status` (and the end of `etl demo`) shows without --limit. */
export const DEFAULT_STATUS_LIMIT = 20

export function setExitCode(code: number): void {
  process.exitCode = Math.max(Number(process.exitCode ?? 0), code)
}

/** A plain text table: columns padded to their widest cell. */
/** A timestamp as a table cell: `2025-01-15 02:00:03` (UTC, to the second). */
export const timeCell = (at: Date): string => at.toISOString().replace('T', ' ').slice(0, 19)

/** A message as a table cell: one line, at most `max` characters. */
export const oneLine = (text: string | null | undefined, max = 80): string => (text ?? '').replace(/\s+/g, ' ').slice(0, max)

export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)))
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`)
}

/** `--out FILE` must name a file in a folder that exists (exit 3 before anything is read or run). */
export function assertOutFolder(out: string): void {
  const folder = path.dirname(path.resolve(out))
  if (!fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory()) {
    throw new EtlError('CONFIG', `--out ${out}: the folder ${folder} does not exist; create it or choose another path`)
  }
}
