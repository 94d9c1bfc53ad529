import { DateTime } from 'luxon'

/**
 * A five-field cron expression in words and its next run times, for the job page. Handles what
 * `etl schedule` accepts: numbers, `*`, lists, ranges and steps; names of days are not used by
 * the built-in jobs and are read as cron's numbers (0 or 7 is Sunday).
 */
const FIELDS = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12 },
  { min: 0, max: 7 },
] as const

function expand(field: string, index: number): Set<number> | null {
  const { min, max } = FIELDS[index]!
  const out = new Set<number>()
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/')
    const step = stepText === undefined ? 1 : Number(stepText)
    let lo: number
    let hi: number
    if (range === '*') [lo, hi] = [min, max]
    else if (range!.includes('-')) [lo, hi] = range!.split('-').map(Number) as [number, number]
    else [lo, hi] = [Number(range), stepText === undefined ? Number(range) : max]
    if (![lo, hi, step].every(Number.isInteger) || step < 1 || lo < min || hi > max) return null
    for (let v = lo; v <= hi; v += step) out.add(index === 4 && v === 7 ? 0 : v)
  }
  return out
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const two = (n: number) => String(n).padStart(2, '0')

/** "every day at 02:00", "every hour at :45", "on Monday at 04:00"; the expression itself when unusual. */
export function scheduleInWords(expression: string, timezone: string): string {
  const f = expression.trim().split(/\s+/)
  if (f.length !== 5) return expression
  const [m, h, dom, mon, dow] = f as [string, string, string, string, string]
  const zone = timezone === 'UTC' ? 'UTC' : timezone
  const at = /^\d+$/.test(m) && /^\d+$/.test(h) ? `at ${two(Number(h))}:${two(Number(m))} ${zone}` : null
  const minuteStep = /^\*\/(\d+)$/.exec(m)
  if (h === '*' && dom === '*' && mon === '*' && dow === '*') {
    if (/^\d+$/.test(m)) return `every hour at :${two(Number(m))}`
    if (minuteStep) return `every ${minuteStep[1]} minutes`
    if (m === '*') return 'every minute'
  }
  if (at && mon === '*') {
    if (dom === '*' && dow === '*') return `every day ${at}`
    if (dom === '*' && /^\d$/.test(dow)) return `every ${DAYS[Number(dow) % 7]} ${at}`
    if (dom === '*' && dow === '1-5') return `Monday to Friday ${at}`
    if (/^\d+$/.test(dom) && dow === '*') return `on day ${dom} of every month ${at}`
  }
  if (/^\d+$/.test(m) && dom === '*' && mon === '*' && /^[\d,\-*/]+$/.test(h)) {
    const days = dow === '*' ? 'every day' : dow === '1-5' ? 'Monday to Friday' : `on weekdays ${dow}`
    return `${days} at minute ${m} of hours ${h} ${zone}`
  }
  return `cron ${expression} (${zone})`
}

/** The next `count` times the expression fires after `now`, in its zone; empty if it cannot be read. */
export function nextRuns(expression: string, timezone: string, now: Date, count = 5): Date[] {
  const f = expression.trim().split(/\s+/)
  if (f.length !== 5) return []
  const sets = f.map((field, i) => expand(field, i))
  if (sets.some((s) => s === null)) return []
  const [minutes, hours, doms, months, dows] = sets as Set<number>[]
  // cron's rule: when both day fields are restricted, either one matching is enough
  const domAny = f[2] === '*'
  const dowAny = f[4] === '*'
  const out: Date[] = []
  let day = DateTime.fromJSDate(now, { zone: timezone }).startOf('day')
  for (let i = 0; i < 400 && out.length < count; i++, day = day.plus({ days: 1 })) {
    if (!months!.has(day.month)) continue
    const domOk = doms!.has(day.day)
    const dowOk = dows!.has(day.weekday % 7)
    if (!(domAny && dowAny) && !(domAny ? dowOk : dowAny ? domOk : domOk || dowOk)) continue
    for (const h of [...hours!].sort((a, b) => a - b)) {
      for (const m of [...minutes!].sort((a, b) => a - b)) {
        const at = day.set({ hour: h, minute: m })
        if (at.hour !== h) continue // a time skipped by a DST change
        if (at.toMillis() > now.getTime() && out.length < count) out.push(at.toJSDate())
      }
    }
  }
  return out
}
