/**
 * A small YAML writer for Kubernetes manifests: plain objects, arrays, strings, numbers and
 * booleans, block style. Strings that could read as anything but a string are double-quoted
 * (JSON strings are valid YAML), so the output never changes type on the way to the API server.
 */
export function toYaml(value: unknown): string {
  return `${lines(value, 0).join('\n')}\n`
}

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/
const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i

function scalar(value: unknown): string {
  if (typeof value === 'string') return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null) return 'null'
  throw new TypeError(`cannot write ${typeof value} as YAML`)
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isEmpty = (v: unknown) => (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0)

function lines(value: unknown, indent: number): string[] {
  const pad = ' '.repeat(indent)
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (!Array.isArray(item) && !isObject(item)) return [`${pad}- ${scalar(item)}`]
      if (isEmpty(item)) return [`${pad}- ${Array.isArray(item) ? '[]' : '{}'}`]
      const inner = lines(item, indent + 2)
      inner[0] = `${pad}- ${inner[0]!.slice(indent + 2)}`
      return inner
    })
  }
  if (isObject(value)) {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .flatMap(([key, v]) => {
        if (isEmpty(v)) return [`${pad}${scalar(key)}: ${Array.isArray(v) ? '[]' : '{}'}`]
        if (Array.isArray(v) || isObject(v)) return [`${pad}${scalar(key)}:`, ...lines(v, indent + 2)]
        return [`${pad}${scalar(key)}: ${scalar(v)}`]
      })
  }
  return [`${pad}${scalar(value)}`]
}
