import { DateTime } from 'luxon'
import { EtlError } from '../../errors.js'
import type { IsoDate } from '../../time/calendar.js'

/** The ranges `etl prices historical` takes (SPEC section 1). */
export const RANGES = ['7D', '1M', '3M', '6M', 'YTD', '1Y', '3Y', '5Y', 'MAX'] as const
export type PriceRange = (typeof RANGES)[number]

/** What `etl prices show --range` takes: today's hourly bars, or a range of daily bars. */
export const SHOW_RANGES = ['1D', ...RANGES] as const
export type ShowRange = (typeof SHOW_RANGES)[number]

/** MAX asks the providers for everything since this day; they answer with what they keep. */
export const MAX_START: IsoDate = '2000-01-01'

/** '1y' and '1Y' both name a range; anything else is BAD_INPUT (exit 2). */
export function parseRange(input: string, allowed: readonly string[] = RANGES, what = 'RANGE'): string {
  const range = input.trim().toUpperCase()
  if (!allowed.includes(range)) {
    throw new EtlError('BAD_INPUT', `${what} '${input}' is not one of ${allowed.join(' ')}`)
  }
  return range
}

/**
 * The first day of a range ending on `today` (a New York date), calendar arithmetic:
 * 7D is the week before, 1M the month before, YTD from 1 January.
 *
 * @example rangeStart('3M', '2025-05-31') // '2025-02-28'
 */
export function rangeStart(range: PriceRange, today: IsoDate): IsoDate {
  const d = DateTime.fromISO(today, { zone: 'UTC' })
  const back: Record<Exclude<PriceRange, 'YTD' | 'MAX'>, object> = {
    '7D': { days: 7 },
    '1M': { months: 1 },
    '3M': { months: 3 },
    '6M': { months: 6 },
    '1Y': { years: 1 },
    '3Y': { years: 3 },
    '5Y': { years: 5 },
  }
  if (range === 'MAX') return MAX_START
  if (range === 'YTD') return d.startOf('year').toISODate()!
  return d.minus(back[range]).toISODate()!
}
