/**
 * One pino JSON record as one short line for a person at a terminal:
 * `09:06:38 INFO applied migrations to the embedded warehouse (applied: 5)`.
 * Multi-line pretty objects scroll the screen and break a progress bar, so every extra field
 * becomes a short `key: value`, lists longer than a few items become their count, and an error
 * shows its message (its stack only with ETL_DEBUG, as the CLI's own errors do).
 */

export const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
const LEVEL_COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '31' }
// pino's own fields, and what the terminal does not need on every line: runId is the ledger
// row's id (a UUID that doubles the line's length; the JSON logs keep it), not the run id that
// `etl status` shows and `etl retry --run-id` takes
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v', 'runId'])
const MAX_VALUE = 60
const MAX_LIST = 3

export interface LineOptions {
  colour?: boolean
  debug?: boolean
}

export function terminalLine(record: Record<string, unknown>, options: LineOptions = {}): string {
  const level = Number(record.level)
  const time = typeof record.time === 'number' ? new Date(record.time).toTimeString().slice(0, 8) : ''
  const name = LEVEL_NAMES[level] ?? String(level)
  const levelText = options.colour ? `\x1b[${LEVEL_COLOURS[level] ?? '0'}m${name}\x1b[0m` : name
  const extras: string[] = []
  let stack = ''
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN.has(key) || value === undefined) continue
    if ((key === 'err' || key === 'error') && value && typeof value === 'object') {
      const error = value as { message?: unknown; stack?: unknown }
      extras.push(`${key}: ${short(String(error.message ?? ''))}`)
      if (options.debug && typeof error.stack === 'string') stack = `\n${error.stack}`
      continue
    }
    extras.push(`${key}: ${valueText(value)}`)
  }
  const message = oneLine(String(record.msg ?? ''))
  return `${time} ${levelText} ${message}${extras.length ? ` (${extras.join(', ')})` : ''}${stack}\n`
}

function valueText(value: unknown): string {
  if (Array.isArray(value)) {
    return value.length > MAX_LIST ? String(value.length) : `[${value.map((v) => valueText(v)).join(', ')}]`
  }
  if (value !== null && typeof value === 'object') return short(JSON.stringify(value))
  return short(String(value))
}

function short(text: string): string {
  const line = oneLine(text)
  return line.length > MAX_VALUE ? `${line.slice(0, MAX_VALUE - 1)}…` : line
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}
