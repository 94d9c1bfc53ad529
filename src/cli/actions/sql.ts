import type { Command } from 'commander'
import { readOnlyQuery } from '../../db/read-only-query.js'
import { EtlError } from '../../errors.js'
import { withContext } from '../context.js'
import { print, table } from '../options.js'

/** `etl sql`: one read-only statement, printed as an aligned table or `--json`. */
export async function runSql(statement: string | undefined, options: { json?: boolean }, command: Command): Promise<void> {
  const text = statement ?? (await readStdin())
  await withContext(command, async (ctx) => {
    const warehouse = await ctx.connections.warehouse()
    const rows = await readOnlyQuery(warehouse, text)
    if (options.json) return print(JSON.stringify(rows.map((r) => mapValues(r, jsonValue))))
    if (rows.length === 0) return print('(0 rows)')
    const columns = Object.keys(rows[0]!)
    print(table(columns, rows.map((r) => columns.map((c) => cellText(r[c])))))
    print(`(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`)
  })
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new EtlError('USAGE', 'give the statement as the argument, or pipe it in: echo "select 1" | etl sql')
  let text = ''
  for await (const chunk of process.stdin) text += chunk
  return text
}

const mapValues = (row: Record<string, unknown>, fn: (v: unknown) => unknown) =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, fn(v)]))

function jsonValue(value: unknown): unknown {
  return Buffer.isBuffer(value) ? `\\x${value.toString('hex')}` : value
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (value instanceof Date) return value.toISOString()
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value).replace(/\s+/g, ' ')
}
