/**
 * The custom metric formula language, by hand: a tokenizer and a recursive-descent parser that
 * accept column names, numbers, + - * /, parentheses, `*` (COUNT) and, for RATIO, two aggregate
 * calls. Anything else is a FormulaError naming the position. The parse tree is the only thing
 * the SQL builder (compile.ts) reads; the formula text never reaches SQL.
 *
 * @example parseFormula('duration_seconds / 60') // { type: 'binary', op: '/', left: { type: 'column', … }, … }
 */
export class FormulaError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FormulaError'
  }
}

export const AGGREGATES = ['SUM', 'COUNT', 'AVG', 'MIN', 'MAX'] as const
export type Aggregate = (typeof AGGREGATES)[number]

export type Expr =
  | { type: 'number'; value: number }
  | { type: 'column'; name: string }
  | { type: 'star' }
  | { type: 'negate'; operand: Expr }
  | { type: 'binary'; op: '+' | '-' | '*' | '/'; left: Expr; right: Expr }
  | { type: 'aggregate'; fn: Aggregate; arg: Expr }

type Token =
  | { kind: 'ident'; text: string; at: number }
  | { kind: 'number'; value: number; at: number }
  | { kind: 'op'; text: '+' | '-' | '*' | '/' | '(' | ')'; at: number }

export const MAX_FORMULA_LENGTH = 500
const MAX_DEPTH = 32

export function tokenize(input: string): Token[] {
  if (input.length > MAX_FORMULA_LENGTH) throw new FormulaError(`is longer than ${MAX_FORMULA_LENGTH} characters`)
  const tokens: Token[] = []
  let i = 0
  while (i < input.length) {
    const c = input[i]!
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1
      while (j < input.length && /[A-Za-z0-9_]/.test(input[j]!)) j++
      if (j - i > 63) throw new FormulaError(`name at position ${i + 1} is longer than 63 characters`)
      tokens.push({ kind: 'ident', text: input.slice(i, j), at: i })
      i = j
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(input[i + 1] ?? ''))) {
      const match = /^[0-9]*(\.[0-9]+)?/.exec(input.slice(i))![0]
      if (match.length > 30) throw new FormulaError(`number at position ${i + 1} is too long`)
      const value = Number(match)
      if (!Number.isFinite(value)) throw new FormulaError(`number at position ${i + 1} is not finite`)
      tokens.push({ kind: 'number', value, at: i })
      i += match.length
      if (/[A-Za-z_.]/.test(input[i] ?? '')) throw new FormulaError(`unexpected '${input[i]}' after the number at position ${i}`)
    } else if ('+-*/()'.includes(c)) {
      tokens.push({ kind: 'op', text: c as '+', at: i })
      i++
    } else {
      const shown = /[\x21-\x7e]/.test(c) ? `'${c}'` : `character U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
      throw new FormulaError(`${shown} at position ${i + 1} is not allowed: use column names, numbers, + - * / and parentheses`)
    }
  }
  if (tokens.length === 0) throw new FormulaError('is empty')
  return tokens
}

/** Parses a formula. `allowAggregates` is for RATIO, whose formula is two aggregate calls. */
export function parseFormula(input: string, options: { allowAggregates?: boolean; allowStar?: boolean } = {}): Expr {
  const tokens = tokenize(input)
  let pos = 0
  const peek = () => tokens[pos]
  const where = (t: Token | undefined) => (t ? `at position ${t.at + 1}` : 'at the end')
  const isOp = (t: Token | undefined, text: string): boolean => t?.kind === 'op' && t.text === text

  // a formula that is only `*`: COUNT(*)
  if (tokens.length === 1 && isOp(tokens[0], '*')) {
    if (!options.allowStar) throw new FormulaError("'*' (count rows) is only for COUNT")
    return { type: 'star' }
  }

  function expr(depth: number, inAggregate: boolean): Expr {
    if (depth > MAX_DEPTH) throw new FormulaError(`nests deeper than ${MAX_DEPTH} levels`)
    let left = term(depth, inAggregate)
    while (isOp(peek(), '+') || isOp(peek(), '-')) {
      const op = (tokens[pos++] as { text: '+' | '-' }).text
      left = { type: 'binary', op, left, right: term(depth, inAggregate) }
    }
    return left
  }
  function term(depth: number, inAggregate: boolean): Expr {
    let left = unary(depth, inAggregate)
    while (isOp(peek(), '*') || isOp(peek(), '/')) {
      const op = (tokens[pos++] as { text: '*' | '/' }).text
      left = { type: 'binary', op, left, right: unary(depth, inAggregate) }
    }
    return left
  }
  function unary(depth: number, inAggregate: boolean): Expr {
    if (isOp(peek(), '-')) {
      pos++
      return { type: 'negate', operand: unary(depth + 1, inAggregate) }
    }
    return primary(depth, inAggregate)
  }
  function primary(depth: number, inAggregate: boolean): Expr {
    const t = tokens[pos++]
    if (!t) throw new FormulaError('ends where a column, a number or ( was expected')
    if (t.kind === 'number') return { type: 'number', value: t.value }
    if (t.kind === 'op' && t.text === '(') {
      const inner = expr(depth + 1, inAggregate)
      if (!isOp(tokens[pos++], ')')) throw new FormulaError(`misses a ')' ${where(tokens[pos - 1])}`)
      return inner
    }
    if (t.kind === 'ident') {
      if (isOp(peek(), '(')) {
        const fn = t.text.toUpperCase()
        if (!options.allowAggregates || !(AGGREGATES as readonly string[]).includes(fn)) {
          throw new FormulaError(
            options.allowAggregates
              ? `'${t.text}' ${where(t)} is not an aggregate; use ${AGGREGATES.join(', ')}`
              : `function call '${t.text}(' ${where(t)} is not allowed; only RATIO takes aggregate calls`,
          )
        }
        if (inAggregate) throw new FormulaError(`aggregate ${where(t)} inside another aggregate`)
        pos++ // (
        let arg: Expr
        if (isOp(peek(), '*') && isOp(tokens[pos + 1], ')')) {
          if (fn !== 'COUNT') throw new FormulaError(`${fn}(*) ${where(t)}: only COUNT takes *`)
          pos++
          arg = { type: 'star' }
        } else {
          arg = expr(depth + 1, true)
        }
        if (!isOp(tokens[pos++], ')')) throw new FormulaError(`misses a ')' after ${fn}(… ${where(tokens[pos - 1])}`)
        return { type: 'aggregate', fn: fn as Aggregate, arg }
      }
      return { type: 'column', name: t.text }
    }
    throw new FormulaError(`unexpected '${t.text}' ${where(t)}`)
  }

  const tree = expr(0, false)
  if (pos < tokens.length) {
    const t = tokens[pos]!
    throw new FormulaError(`unexpected '${t.kind === 'number' ? t.value : t.text}' ${where(t)}`)
  }
  return tree
}

/** Columns a parse tree names, for checking against the source. */
export function columnsOf(tree: Expr): string[] {
  switch (tree.type) {
    case 'column':
      return [tree.name]
    case 'negate':
      return columnsOf(tree.operand)
    case 'binary':
      return [...columnsOf(tree.left), ...columnsOf(tree.right)]
    case 'aggregate':
      return columnsOf(tree.arg)
    default:
      return []
  }
}
