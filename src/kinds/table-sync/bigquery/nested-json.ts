import { rangeBounds, timestampText, type BigQueryCell, type BigQueryField, type BigQueryValue } from './types.js'

/**
 * A REPEATED or RECORD cell as JSON text for a jsonb column, written piece by piece from
 * BigQuery's strings: no value goes through a JavaScript number, so an INT64 such as
 * 9007199254740993 or -9223372036854775808 and a NUMERIC's every digit reach jsonb exactly
 * (jsonb numbers are PostgreSQL numerics). INT64, NUMERIC and BIGNUMERIC are JSON numbers;
 * FLOAT64 is a number when finite and its string ("NaN", "Infinity", "-Infinity") otherwise,
 * since JSON has no such numbers; TIMESTAMP is a UTC string, RANGE `{"start", "end"}`.
 */
export function nestedJson(field: BigQueryField, v: BigQueryValue, repeatedItem = false): string {
  if (v === null || v === undefined) return 'null'
  if (field.mode === 'REPEATED' && !repeatedItem) return `[${(v as BigQueryCell[]).map((c) => nestedJson(field, c.v, true)).join(',')}]`
  const type = field.type.toUpperCase()
  if (type === 'RECORD' || type === 'STRUCT') {
    const cells = (v as { f: BigQueryCell[] }).f
    return `{${(field.fields ?? []).map((sub, i) => `${JSON.stringify(sub.name)}:${nestedJson(sub, cells[i]?.v ?? null)}`).join(',')}}`
  }
  const s = v as string
  switch (type) {
    case 'INTEGER':
    case 'INT64':
      if (!/^-?\d+$/.test(s)) throw new Error(`BigQuery sent '${s}' for INT64 field ${field.name}`)
      return s.replace(/^(-?)0+(?=\d)/, '$1')
    case 'NUMERIC':
    case 'BIGNUMERIC':
    case 'BIGDECIMAL':
      return exactNumber(s, field)
    case 'FLOAT':
    case 'FLOAT64':
      if (JSON_NUMBER.test(s)) return s
      if (/^[+-]?(nan|inf(inity)?)$/i.test(s)) return JSON.stringify(String(Number(s.replace(/^([+-]?)inf$/i, '$1Infinity'))))
      return exactNumber(s, field)
    case 'BOOLEAN':
    case 'BOOL':
      return s === 'true' ? 'true' : 'false'
    case 'TIMESTAMP':
      return JSON.stringify(timestampText(s))
    case 'RANGE': {
      const { start, end } = rangeBounds(field, s)
      return `{"start":${JSON.stringify(start)},"end":${JSON.stringify(end)}}`
    }
    case 'JSON':
      JSON.parse(s) // one well-formed value, so its text can stand in place as it is (big numbers kept)
      return s.trim()
    default:
      return JSON.stringify(s)
  }
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/

/** A decimal string as a JSON number, same digits; forms JSON lacks ("+1", ".5", "5.") are completed. */
function exactNumber(s: string, field: BigQueryField): string {
  if (JSON_NUMBER.test(s)) return s
  const m = /^([+-]?)(\d*)(?:\.(\d*))?([eE][+-]?\d+)?$/.exec(s)
  if (!m || (!m[2] && !m[3])) throw new Error(`BigQuery sent '${s}' for ${field.type} field ${field.name}`)
  const whole = (m[2] ?? '').replace(/^0+(?=\d)/, '') || '0'
  return `${m[1] === '-' ? '-' : ''}${whole}${m[3] ? `.${m[3]}` : ''}${m[4] ?? ''}`
}
