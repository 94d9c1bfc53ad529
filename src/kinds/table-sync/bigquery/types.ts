import { nestedJson } from './nested-json.js'

/**
 * BigQuery's REST row format (`{ f: [{ v }] }`, every scalar a string) mapped to PostgreSQL:
 * column types for the target, and values as COPY text so the rows load with one
 * `COPY … FROM STDIN` like any other source.
 */
export interface BigQueryField {
  name: string
  type: string
  mode?: 'NULLABLE' | 'REQUIRED' | 'REPEATED'
  fields?: BigQueryField[]
  /** RANGE columns: the type of the bounds. */
  rangeElementType?: { type: string }
  /** TIMESTAMP columns: '12' for picoseconds (sent as ISO strings). */
  timestampPrecision?: string
}

export type BigQueryCell = { v: BigQueryValue }
export type BigQueryValue = string | null | BigQueryCell[] | { f: BigQueryCell[] }
export type BigQueryRow = { f: BigQueryCell[] }

const TYPES: Record<string, string> = {
  INTEGER: 'bigint',
  INT64: 'bigint',
  FLOAT: 'double precision',
  FLOAT64: 'double precision',
  NUMERIC: 'numeric',
  BIGNUMERIC: 'numeric',
  BIGDECIMAL: 'numeric',
  BOOLEAN: 'boolean',
  BOOL: 'boolean',
  STRING: 'text',
  BYTES: 'bytea',
  DATE: 'date',
  DATETIME: 'timestamp without time zone',
  TIMESTAMP: 'timestamp with time zone',
  TIME: 'time without time zone',
  JSON: 'jsonb',
  GEOGRAPHY: 'text',
  INTERVAL: 'text',
  RECORD: 'jsonb',
  STRUCT: 'jsonb',
}

const RANGE_TYPES: Record<string, string> = { DATE: 'daterange', DATETIME: 'tsrange', TIMESTAMP: 'tstzrange' }

/** The PostgreSQL type of a BigQuery column: repeated and nested ones become jsonb. */
export function postgresType(field: BigQueryField): string {
  if (field.mode === 'REPEATED') return 'jsonb'
  if (field.type.toUpperCase() === 'RANGE') {
    const range = RANGE_TYPES[rangeElementType(field)]
    if (!range) throw new Error(`BigQuery column ${field.name} is a RANGE of ${rangeElementType(field)}, which nightshift cannot map; cast it in a source query`)
    return range
  }
  const type = TYPES[field.type.toUpperCase()]
  if (!type) throw new Error(`BigQuery column ${field.name} has type ${field.type}, which nightshift cannot map; cast it in a source query`)
  return type
}

/** The BigQuery query-parameter type for a watermark of a PostgreSQL column type. */
export function parameterType(pgType: string): string {
  if (pgType.startsWith('timestamp with time zone')) return 'TIMESTAMP'
  if (pgType.startsWith('timestamp')) return 'DATETIME'
  if (pgType === 'date') return 'DATE'
  if (/^(bigint|integer|smallint)$/.test(pgType)) return 'INT64'
  if (pgType.startsWith('numeric')) return 'NUMERIC'
  if (pgType === 'double precision') return 'FLOAT64'
  if (pgType === 'text') return 'STRING'
  throw new Error(`a BigQuery watermark cannot be of type ${pgType}`)
}

/** A watermark as PostgreSQL printed it, as BigQuery reads a parameter of that type. */
export function parameterValue(pgText: string, pgType: string): string {
  if (pgType.startsWith('timestamp with time zone')) return pgText.replace(/([+-]\d{2})$/, '$1:00')
  return pgText
}

/**
 * A TIMESTAMP cell: microseconds since the epoch (formatOptions.useInt64Timestamp), seconds as a
 * float ("1.7000000001E9") from older endpoints, or an ISO 8601 string, which BigQuery sends for
 * picosecond columns (TIMESTAMP(12): up to 12 fractional digits). Written as UTC; an ISO string
 * keeps every digit it has (PostgreSQL rounds to microseconds on the way in, jsonb keeps them all).
 */
export function timestampText(v: string): string {
  const iso = ISO_TIMESTAMP.exec(v.trim())
  if (iso) {
    const [, date, time, fraction = '', zone] = iso
    return `${date} ${time}${fraction}${!zone || zone === 'Z' || zone === 'z' ? '+00' : zone}`
  }
  let micros: bigint
  if (/^-?\d+$/.test(v)) micros = BigInt(v)
  else if (Number.isFinite(Number(v))) micros = BigInt(Math.round(Number(v) * 1e6))
  else throw new Error(`BigQuery sent '${v}' for a TIMESTAMP: neither microseconds, seconds nor an ISO 8601 time`)
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n)
  const rest = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n
  const text = new Date(Number(ms)).toISOString() // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${text.slice(0, 10)} ${text.slice(11, 19)}.${rest.toString().padStart(6, '0')}+00`
}

const ISO_TIMESTAMP = /^(\d{4,}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/

/** A RANGE's element type: `rangeElementType.type` of the schema field (DATE, DATETIME or TIMESTAMP). */
export function rangeElementType(field: BigQueryField): string {
  return (field.rangeElementType?.type ?? 'DATE').toUpperCase()
}

/**
 * A RANGE cell, `[start, end)` with UNBOUNDED for an open end, as its two bounds (null when
 * unbounded), each in PostgreSQL's text form of the element type.
 */
export function rangeBounds(field: BigQueryField, v: string): { start: string | null; end: string | null } {
  const m = /^\[\s*([^,]*?)\s*,\s*([^)]*?)\s*\)$/.exec(v.trim())
  if (!m) throw new Error(`BigQuery sent '${v}' for RANGE column ${field.name}: not [start, end)`)
  const element = rangeElementType(field)
  const bound = (b: string) => (b === 'UNBOUNDED' || b === '' ? null : element === 'TIMESTAMP' ? timestampText(b) : b)
  return { start: bound(m[1]!), end: bound(m[2]!) }
}

/** One cell in COPY text format: `\N` for null, backslash escapes for the rest. */
export function copyText(field: BigQueryField, v: BigQueryValue): string {
  if (v === null || v === undefined) return '\\N'
  let text: string
  const type = field.type.toUpperCase()
  if (field.mode === 'REPEATED' || type === 'RECORD' || type === 'STRUCT') text = nestedJson(field, v)
  else if (type === 'TIMESTAMP') text = timestampText(v as string)
  else if (type === 'RANGE') {
    const { start, end } = rangeBounds(field, v as string)
    // a quoted bound: timestamps hold spaces and a sign
    text = `[${start === null ? '' : `"${start}"`},${end === null ? '' : `"${end}"`})`
  } else if (type === 'BYTES') text = `\\x${Buffer.from(v as string, 'base64').toString('hex')}`
  else text = v as string
  return text.replace(/[\\\n\r\t]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)
}

/** A page of rows as COPY text lines. */
export function copyLines(fields: readonly BigQueryField[], rows: readonly BigQueryRow[]): string {
  let out = ''
  for (const row of rows) out += `${fields.map((f, i) => copyText(f, row.f[i]?.v ?? null)).join('\t')}\n`
  return out
}
