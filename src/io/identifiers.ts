/**
 * Identifiers and literals for SQL that nightshift generates from job files. Job files name
 * tables and columns; those names are checked against IDENTIFIER when the file loads and quoted
 * here, so a name can never carry SQL.
 */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/
export const QUALIFIED = /^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$/

export function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${JSON.stringify(name)}`)
  return `"${name}"`
}

/** `schema.table` or `table`, each part quoted. */
export function qualified(name: string): string {
  if (!QUALIFIED.test(name)) throw new Error(`not a plain SQL name: ${JSON.stringify(name)}`)
  return name.split('.').map(ident).join('.')
}

/**
 * A literal for the few places bind parameters cannot go (`COPY (query) TO STDOUT` takes none):
 * instants, numbers and strings that nightshift itself produced.
 */
export function literal(value: Date | number | string | null): string {
  if (value === null) return 'null'
  if (value instanceof Date) return `'${value.toISOString()}'::timestamptz`
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`)
    return String(value)
  }
  return `'${value.replaceAll("'", "''")}'`
}

/** The staging schema, beside the warehouse schema (SPEC section 2). */
export function stagingSchema(warehouseSchema: string): string {
  return warehouseSchema === 'public' ? 'staging' : `${warehouseSchema}_staging`
}
