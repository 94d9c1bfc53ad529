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

/** The PostgreSQL type of a BigQuery column: repeated and nested ones become jsonb. */
export function postgresType(field: BigQueryField): string {
  if (field.mode === 'REPEATED') return 'jsonb'
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
 * A TIMESTAMP cell: microseconds since the epoch (formatOptions.useInt64Timestamp) or, from
 * older endpoints, seconds as a float ("1.7000000001E9"). Written as UTC with microseconds.
 */
export function timestampText(v: string): string {
  let micros: bigint
  if (/^-?\d+$/.test(v)) micros = BigInt(v)
  else micros = BigInt(Math.round(Number(v) * 1e6))
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n)
  const rest = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n
  const iso = new Date(Number(ms)).toISOString() // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${rest.toString().padStart(6, '0')}+00`
}

/** A cell as plain JSON, for repeated and nested columns. */
function jsonOf(field: BigQueryField, v: BigQueryValue, repeatedItem = false): unknown {
  if (v === null) return null
  if (field.mode === 'REPEATED' && !repeatedItem) return (v as BigQueryCell[]).map((c) => jsonOf(field, c.v, true))
  if (field.type === 'RECORD' || field.type === 'STRUCT') {
    const cells = (v as { f: BigQueryCell[] }).f
    return Object.fromEntries((field.fields ?? []).map((sub, i) => [sub.name, jsonOf(sub, cells[i]!.v)]))
  }
  const s = v as string
  switch (field.type.toUpperCase()) {
    case 'INTEGER':
    case 'INT64':
    case 'FLOAT':
    case 'FLOAT64':
      return Number(s)
    case 'BOOLEAN':
    case 'BOOL':
      return s === 'true'
    case 'TIMESTAMP':
      return timestampText(s)
    case 'JSON':
      return JSON.parse(s)
    default:
      return s
  }
}

/** One cell in COPY text format: `\N` for null, backslash escapes for the rest. */
export function copyText(field: BigQueryField, v: BigQueryValue): string {
  if (v === null || v === undefined) return '\\N'
  let text: string
  if (field.mode === 'REPEATED' || field.type === 'RECORD' || field.type === 'STRUCT') text = JSON.stringify(jsonOf(field, v))
  else if (field.type.toUpperCase() === 'TIMESTAMP') text = timestampText(v as string)
  else if (field.type.toUpperCase() === 'BYTES') text = `\\x${Buffer.from(v as string, 'base64').toString('hex')}`
  else text = v as string
  return text.replace(/[\\\n\r\t]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)
}

/** A page of rows as COPY text lines. */
export function copyLines(fields: readonly BigQueryField[], rows: readonly BigQueryRow[]): string {
  let out = ''
  for (const row of rows) out += `${fields.map((f, i) => copyText(f, row.f[i]?.v ?? null)).join('\t')}\n`
  return out
}
