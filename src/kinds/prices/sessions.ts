import { DateTime } from 'luxon'
import { marketDate, marketWindow, MARKET_ZONE, sessionOf } from '../../time/market.js'

/**
 * Polygon's hourly aggregates cover extended hours, 04:00–20:00 New York: 16 bars a trading day,
 * of which the regular session is 7 (the 09:00 bar holds the opening bell, so it counts as
 * regular). Each stock bar is stored with its session so charts can show the regular one only.
 */
export type Session = 'pre' | 'regular' | 'post'

export const EXTENDED_OPEN_HOUR = 4
export const EXTENDED_CLOSE_HOUR = 20

/** The session of an hourly bar starting at `t`; undefined on a day the market is closed. */
export function sessionOfBar(t: number): Session | undefined {
  const session = sessionOf(marketDate(t))
  if (!session) return undefined
  const firstRegularHour = DateTime.fromJSDate(session.open, { zone: MARKET_ZONE }).startOf('hour').toMillis()
  if (t < firstRegularHour) return 'pre'
  return t < session.close.getTime() ? 'regular' : 'post'
}

/**
 * Whether an extended-hours job runs now: on a trading day from 04:00 to 20:00 New York, and
 * `afterCloseMinutes` more to collect the 19:00 bar. The reason says why not.
 */
export function extendedWindow(now: Date, afterCloseMinutes = 0): { open: boolean; reason: string; day?: string } {
  const today = marketDate(now)
  const session = sessionOf(today)
  if (session) {
    const day = DateTime.fromISO(today, { zone: MARKET_ZONE })
    const from = day.set({ hour: EXTENDED_OPEN_HOUR }).toMillis()
    const to = day.set({ hour: EXTENDED_CLOSE_HOUR }).toMillis() + afterCloseMinutes * 60_000
    if (now.getTime() >= from && now.getTime() < to) return { open: true, reason: 'extended hours', day: today }
    if (now.getTime() < from) return { open: false, reason: `before extended hours (${today}: they open at 04:00 New York)` }
    return { open: false, reason: `after extended hours (${today}: they close at 20:00 New York)` }
  }
  return marketWindow(now, afterCloseMinutes)
}
