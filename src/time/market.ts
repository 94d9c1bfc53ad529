import { DateTime } from 'luxon'
import { addDays, type IsoDate } from './calendar.js'

/**
 * The US equity market calendar (NYSE): America/New_York, Monday to Friday 09:30–16:00, 13:00 on
 * the usual early-close days, closed on the exchange's holidays. Holidays are computed by rule,
 * so the calendar needs no yearly update; ad hoc closures (storms, national days of mourning)
 * cannot be, and the known ones are listed in AD_HOC_CLOSURES.
 */
export const MARKET_ZONE = 'America/New_York'

export interface MarketSession {
  readonly date: IsoDate
  readonly open: Date
  readonly close: Date
  readonly earlyClose: boolean
}

// exchange closures that no rule predicts
const AD_HOC_CLOSURES: Record<IsoDate, string> = {
  '2012-10-29': 'Hurricane Sandy',
  '2012-10-30': 'Hurricane Sandy',
  '2018-12-05': 'National Day of Mourning (George H. W. Bush)',
  '2025-01-09': 'National Day of Mourning (Jimmy Carter)',
}

const iso = (year: number, month: number, day: number): IsoDate => DateTime.utc(year, month, day).toISODate()!

/** Weekday 1 (Monday) … 7 (Sunday) of a calendar day. */
export function weekdayOf(date: IsoDate): number {
  return DateTime.fromISO(date, { zone: 'UTC' }).weekday
}

/** The n-th (1-based) given weekday of a month; n = -1 for the last one. */
function nthWeekday(year: number, month: number, weekday: number, n: number): IsoDate {
  if (n > 0) {
    const first = DateTime.utc(year, month, 1)
    return first.plus({ days: ((weekday - first.weekday + 7) % 7) + (n - 1) * 7 }).toISODate()!
  }
  const last = DateTime.utc(year, month, 1).endOf('month').startOf('day')
  return last.minus({ days: (last.weekday - weekday + 7) % 7 }).toISODate()!
}

/** Easter Sunday of a Gregorian year (the anonymous Gregorian computus, "Meeus/Jones/Butcher"). */
export function easterSunday(year: number): IsoDate {
  const a = year % 19
  const b = Math.floor(year / 100)
  const c = year % 100
  const d = Math.floor(b / 4)
  const e = b % 4
  const f = Math.floor((b + 8) / 25)
  const g = Math.floor((b - f + 1) / 3)
  const h = (19 * a + b - d - g + 15) % 30
  const i = Math.floor(c / 4)
  const k = c % 4
  const l = (32 + 2 * e + 2 * i - h - k) % 7
  const m = Math.floor((a + 11 * h + 22 * l) / 451)
  const month = Math.floor((h + l - 7 * m + 114) / 31)
  const day = ((h + l - 7 * m + 114) % 31) + 1
  return iso(year, month, day)
}

/** A fixed-date holiday on a weekend is observed on the Friday before or the Monday after. */
function observed(date: IsoDate): IsoDate {
  const wd = weekdayOf(date)
  return wd === 6 ? addDays(date, -1) : wd === 7 ? addDays(date, 1) : date
}

/**
 * The NYSE's full-day holidays of a year, observed date → name.
 *
 * @example nyseHolidays(2026).get('2026-07-03') // 'Independence Day (observed)'
 */
export function nyseHolidays(year: number): Map<IsoDate, string> {
  const holidays = new Map<IsoDate, string>()
  const add = (date: IsoDate, name: string) => {
    if (Number(date.slice(0, 4)) === year) holidays.set(date, name)
  }
  const fixed = (month: number, day: number, name: string) => {
    const actual = iso(year, month, day)
    const obs = observed(actual)
    add(obs, obs === actual ? name : `${name} (observed)`)
  }
  // New Year's Day on a Saturday is not moved to Friday 31 December (NYSE rule 7.2: the year's
  // last trading day stays open); on a Sunday it is observed on Monday
  const newYear = iso(year, 1, 1)
  if (weekdayOf(newYear) === 7) add(addDays(newYear, 1), "New Year's Day (observed)")
  else if (weekdayOf(newYear) !== 6) add(newYear, "New Year's Day")
  if (year >= 1998) add(nthWeekday(year, 1, 1, 3), 'Martin Luther King Jr. Day')
  add(nthWeekday(year, 2, 1, 3), "Washington's Birthday")
  add(addDays(easterSunday(year), -2), 'Good Friday')
  add(nthWeekday(year, 5, 1, -1), 'Memorial Day')
  if (year >= 2022) fixed(6, 19, 'Juneteenth National Independence Day')
  fixed(7, 4, 'Independence Day')
  add(nthWeekday(year, 9, 1, 1), 'Labor Day')
  add(nthWeekday(year, 11, 4, 4), 'Thanksgiving Day')
  fixed(12, 25, 'Christmas Day')
  for (const [date, name] of Object.entries(AD_HOC_CLOSURES)) add(date, name)
  return holidays
}

const holidayCache = new Map<number, Map<IsoDate, string>>()

/** The holiday that closes the exchange on a day, if any. */
export function holidayOn(date: IsoDate): string | undefined {
  const year = Number(date.slice(0, 4))
  let holidays = holidayCache.get(year)
  if (!holidays) {
    holidays = nyseHolidays(year)
    holidayCache.set(year, holidays)
  }
  return holidays.get(date)
}

export function isTradingDay(date: IsoDate): boolean {
  return weekdayOf(date) <= 5 && holidayOn(date) === undefined
}

/** 13:00 closes: the day after Thanksgiving, and 3 July and 24 December when they fall Monday–Thursday. */
function isEarlyClose(date: IsoDate): boolean {
  const year = Number(date.slice(0, 4))
  if (date === addDays(nthWeekday(year, 11, 4, 4), 1)) return true
  const wd = weekdayOf(date)
  return (date.endsWith('-07-03') || date.endsWith('-12-24')) && wd >= 1 && wd <= 4
}

/** The regular session of a day, or undefined on weekends and holidays. */
export function sessionOf(date: IsoDate): MarketSession | undefined {
  if (!isTradingDay(date)) return undefined
  const earlyClose = isEarlyClose(date)
  const at = (hour: number, minute: number) => DateTime.fromISO(date, { zone: MARKET_ZONE }).set({ hour, minute }).toJSDate()
  return { date, open: at(9, 30), close: earlyClose ? at(13, 0) : at(16, 0), earlyClose }
}

/** The calendar day of an instant in New York: the market date of a bar. */
export function marketDate(instant: Date | number): IsoDate {
  const dt = typeof instant === 'number' ? DateTime.fromMillis(instant, { zone: MARKET_ZONE }) : DateTime.fromJSDate(instant, { zone: MARKET_ZONE })
  return dt.toISODate()!
}

export function previousTradingDay(date: IsoDate): IsoDate {
  let d = addDays(date, -1)
  while (!isTradingDay(d)) d = addDays(d, -1)
  return d
}

export function nextTradingDay(date: IsoDate): IsoDate {
  let d = addDays(date, 1)
  while (!isTradingDay(d)) d = addDays(d, 1)
  return d
}

/** Whether the regular session is open at an instant: `[open, close)`. */
export function isMarketOpen(now: Date): boolean {
  const session = sessionOf(marketDate(now))
  return session !== undefined && now >= session.open && now < session.close
}

/**
 * The market day whose data is "today's": today once its session has opened, else the last
 * trading day before it (before the opening bell, at weekends and on holidays).
 */
export function lastMarketDay(now: Date): IsoDate {
  const today = marketDate(now)
  const session = sessionOf(today)
  return session && now >= session.open ? today : previousTradingDay(today)
}

/** The next opening bell at or after an instant. */
export function nextOpen(now: Date): Date {
  const today = marketDate(now)
  const session = sessionOf(today)
  if (session && now < session.open) return session.open
  return sessionOf(nextTradingDay(today))!.open
}

/**
 * Whether a market-hours job has something to do at `now`: inside the session, or at most
 * `afterCloseMinutes` after its close (an hourly job's last run collects the final hour).
 * `reason` says why not, for the ledger's SKIPPED row.
 */
export function marketWindow(now: Date, afterCloseMinutes = 0): { open: boolean; reason: string } {
  const today = marketDate(now)
  const session = sessionOf(today)
  if (session && now >= session.open && now.getTime() < session.close.getTime() + afterCloseMinutes * 60_000) {
    return { open: true, reason: 'market open' }
  }
  const next = DateTime.fromJSDate(nextOpen(now), { zone: MARKET_ZONE }).toFormat("yyyy-LL-dd HH:mm ZZZZ")
  const why = session ? (now < session.open ? 'before the opening bell' : 'after the close') : (holidayOn(today) ?? 'weekend')
  return { open: false, reason: `market closed (${today}: ${why}); next open ${next}` }
}
