/**
 * A job file's definition as text for its page: YAML-like, multi-line strings (SQL) as blocks,
 * functions and other code by their name only. Only for showing; never parsed back.
 */
export function definitionText(value: unknown): string {
  return lines(value, 0, new WeakSet()).join('\n')
}

function scalar(v: unknown): string {
  if (typeof v === 'string') return /^[\w./:-]+$/.test(v) ? v : JSON.stringify(v)
  if (typeof v === 'function') return `<function ${v.name || 'anonymous'}>`
  if (v === null || v === undefined) return 'null'
  if (v instanceof RegExp || typeof v !== 'object') return String(v)
  return `<${v.constructor?.name ?? 'object'}>`
}

function plainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

function lines(value: unknown, indent: number, seen: WeakSet<object>): string[] {
  const pad = ' '.repeat(indent)
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v) => ['-', v]) : plainObject(value) ? Object.entries(value) : []
  if (typeof value === 'object' && value !== null) {
    if (seen.has(value)) return [`${pad}<cycle>`]
    seen.add(value)
  }
  return entries
    .filter(([, v]) => v !== undefined)
    .flatMap(([key, v]) => {
      const head = key === '-' ? `${pad}-` : `${pad}${key}:`
      if (typeof v === 'string' && v.includes('\n')) {
        const body = v.replace(/^\n+|\s+$/g, '').split('\n')
        const common = Math.min(...body.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length))
        return [`${head} |`, ...body.map((l) => `${pad}  ${l.slice(common)}`)]
      }
      if ((Array.isArray(v) && v.length) || (plainObject(v) && Object.keys(v).length)) return [head, ...lines(v, indent + 2, seen)]
      if (Array.isArray(v)) return [`${head} []`]
      return [`${head} ${plainObject(v) ? '{}' : scalar(v)}`]
    })
}
