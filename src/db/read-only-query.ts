import { sql } from 'kysely'
import { EtlError, isConnectionError, pgErrorCode } from '../errors.js'
import type { Database } from './database.js'

/**
 * Runs one statement a person typed in a read-only transaction, so that no statement can change
 * the warehouse, whatever it says: the database itself refuses INSERT, DDL, nextval() and the
 * rest (SQLSTATE 25006). One statement only: both drivers send a statement without parameters
 * by the simple protocol, which runs a script, and `commit; drop table …` would end the
 * read-only transaction before the drop. So a second statement is refused before anything runs.
 *
 * The statement's own errors (syntax, unknown table, a refused write) are bad input, exit 2, in
 * the database's words; an unreachable database stays exit 3.
 *
 * @example
 * const rows = await readOnlyQuery(warehouse, 'select date_key, count(*) from fact_sessions group by 1')
 */
export async function readOnlyQuery(db: Database, statement: string): Promise<Array<Record<string, unknown>>> {
  const text = statement.trim().replace(/;\s*$/, '')
  if (text === '') throw new EtlError('USAGE', 'no SQL given: pass one statement as the argument or on stdin')
  if (hasSecondStatement(text)) throw new EtlError('BAD_INPUT', "one statement at a time: this SQL goes on after a ';'")
  try {
    return await db.withSession((session) =>
      session.db.transaction().execute(async (trx) => {
        await sql`set transaction read only`.execute(trx)
        const { rows } = await sql.raw<Record<string, unknown>>(text).execute(trx)
        return rows
      }),
    )
  } catch (error) {
    const code = pgErrorCode(error)
    if (!code || isConnectionError(error) || SERVER_TROUBLE.test(code)) throw error
    const message = (error as Error).message
    if (code === '25006') throw new EtlError('BAD_INPUT', `refused, SQL here is read-only: ${message}`, { cause: error })
    throw new EtlError('BAD_INPUT', `${message} (SQLSTATE ${code})`, { cause: error })
  }
}

// the server's own trouble, not the statement's: out of resources, shutting down, system errors
const SERVER_TROUBLE = /^(53|57|58|XX)/

/**
 * Whether `text` has SQL after a top-level `;`: one outside string constants ('…', E'…' with
 * backslash escapes, $tag$…$tag$), quoted identifiers and comments (nested block comments
 * too), as PostgreSQL's lexer sees them.
 */
export function hasSecondStatement(text: string): boolean {
  let i = 0
  const skipTo = (close: string, from: number) => {
    const at = text.indexOf(close, from)
    return at < 0 ? text.length : at + close.length
  }
  while (i < text.length) {
    const ch = text[i]!
    const next = text[i + 1]
    if (ch === '-' && next === '-') i = skipTo('\n', i + 2)
    else if (ch === '/' && next === '*') {
      let depth = 1
      i += 2
      while (i < text.length && depth > 0) {
        if (text.startsWith('/*', i)) depth++
        else if (text.startsWith('*/', i)) depth--
        else {
          i++
          continue
        }
        i += 2
      }
    } else if (ch === "'") {
      const escapes = /[eE]/.test(text[i - 1] ?? '') && !/[\w$]/.test(text[i - 2] ?? '')
      i++
      while (i < text.length) {
        if (escapes && text[i] === '\\') i += 2
        else if (text[i] === "'" && text[i + 1] === "'") i += 2
        else if (text[i] === "'") break
        else i++
      }
      i++
    } else if (ch === '"') {
      i = skipTo('"', i + 1)
    } else if (ch === '$' && !/[\w$]/.test(text[i - 1] ?? '')) {
      const tag = /^\$([A-Za-z_][\w]*)?\$/.exec(text.slice(i))
      i = tag ? skipTo(tag[0], i + tag[0].length) : i + 1
    } else if (ch === ';') {
      if (text.slice(i + 1).replace(/--[^\n]*|\/\*[\s\S]*?\*\/|\s/g, '') !== '') return true
      i++
    } else i++
  }
  return false
}
