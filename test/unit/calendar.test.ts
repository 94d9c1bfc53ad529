import { describe, expect, it } from 'vitest'
import { EtlError } from '../../src/errors.js'
import {
  addDays,
  dateKey,
  dateOf,
  dateRange,
  dayBounds,
  hoursInDay,
  monthStart,
  nextPeriodStart,
  parseDate,
  parseMonth,
  periodBounds,
  periodStart,
  quarterStart,
  weekStart,
  yearStart,
  yesterday,
} from '../../src/time/calendar.js'
import { thrown } from '../helpers/errors.js'

const NEW_YORK = 'America/New_York'
const LOS_ANGELES = 'America/Los_Angeles'


function iso(bounds: { from: Date; to: Date }): { from: string; to: string } {
  return { from: bounds.from.toISOString(), to: bounds.to.toISOString() }
}

describe('parseDate', () => {
  it('returns a valid YYYY-MM-DD day unchanged', () => {
    expect(parseDate('2025-01-15')).toBe('2025-01-15')
  })

  it('accepts the leap day of a leap year', () => {
    expect(parseDate('2024-02-29')).toBe('2024-02-29')
  })

  it.each([
    ['2025-02-30', 'a day past the end of February'],
    ['2025-02-29', 'a leap day in a common year'],
    ['2025-13-01', 'month 13'],
    ['2025-00-10', 'month 0'],
    ['2025-04-31', 'the 31st of a 30-day month'],
    ['15/01/2025', 'a day-first date with slashes'],
    ['2025-1-5', 'unpadded month and day'],
    ['2025-01-15T00:00:00Z', 'a timestamp'],
    ['2025-01-15\n', 'a trailing newline'],
    ['', 'an empty string'],
  ])('rejects %j (%s) as BAD_DATE with exit code 2', (input) => {
    const error = thrown(() => parseDate(input))
    expect(error.code).toBe('BAD_DATE')
    expect(error.exitCode).toBe(2)
    expect(error.message).toContain(`'${input}'`)
  })

  it('names the flag it was given in the message', () => {
    expect(thrown(() => parseDate('2025-02-30')).message).toBe("--date '2025-02-30' is not a calendar day")
    expect(thrown(() => parseDate('15/01/2025', '--from')).message).toMatch(/^--from '15\/01\/2025' is not a date; write it as YYYY-MM-DD/)
  })
})

describe('parseMonth', () => {
  it('returns the first day of a YYYY-MM month', () => {
    expect(parseMonth('2025-01')).toBe('2025-01-01')
    expect(parseMonth('2024-12')).toBe('2024-12-01')
  })

  it.each(['2025-13', '2025-00', '2025-1', '2025-01-15', '01-2025', ''])('rejects %j as BAD_DATE', (input) => {
    const error = thrown(() => parseMonth(input))
    expect(error.code).toBe('BAD_DATE')
    expect(error.exitCode).toBe(2)
    expect(error.message).toContain(`--month '${input}' is not a month`)
  })
})

describe('dayBounds and hoursInDay', () => {
  it('gives a normal day in New York 24 hours from local midnight to local midnight', () => {
    expect(iso(dayBounds('2025-01-15', NEW_YORK))).toEqual({
      from: '2025-01-15T05:00:00.000Z',
      to: '2025-01-16T05:00:00.000Z',
    })
    expect(hoursInDay('2025-01-15', NEW_YORK)).toBe(24)
  })

  it('gives the spring-forward day in New York (2025-03-09) 23 hours', () => {
    expect(iso(dayBounds('2025-03-09', NEW_YORK))).toEqual({
      from: '2025-03-09T05:00:00.000Z',
      to: '2025-03-10T04:00:00.000Z',
    })
    expect(hoursInDay('2025-03-09', NEW_YORK)).toBe(23)
  })

  it('gives the fall-back day in New York (2025-11-02) 25 hours', () => {
    expect(iso(dayBounds('2025-11-02', NEW_YORK))).toEqual({
      from: '2025-11-02T04:00:00.000Z',
      to: '2025-11-03T05:00:00.000Z',
    })
    expect(hoursInDay('2025-11-02', NEW_YORK)).toBe(25)
  })

  it('gives a UTC day the bounds of its UTC midnights', () => {
    expect(iso(dayBounds('2025-01-15', 'UTC'))).toEqual({
      from: '2025-01-15T00:00:00.000Z',
      to: '2025-01-16T00:00:00.000Z',
    })
    expect(hoursInDay('2025-03-09', 'UTC')).toBe(24)
  })

  it('tiles a New York year: each day ends exactly where the next one starts', () => {
    for (const date of dateRange('2025-01-01', '2025-12-31')) {
      expect(dayBounds(date, NEW_YORK).to.getTime(), date).toBe(dayBounds(addDays(date, 1), NEW_YORK).from.getTime())
    }
  })

  // where DST skips midnight itself the day starts at 01:00; it must still end at the next local midnight
  it('ends a day whose midnight DST skips (Santiago 2025-09-07) at the next local midnight', () => {
    expect(iso(dayBounds('2025-09-07', 'America/Santiago'))).toEqual({
      from: '2025-09-07T04:00:00.000Z',
      to: '2025-09-08T03:00:00.000Z',
    })
    expect(hoursInDay('2025-09-07', 'America/Santiago')).toBe(23)
  })
})

describe('week, month, quarter and year starts', () => {
  it('weekStart returns the Monday of the ISO week', () => {
    expect(weekStart('2025-01-15')).toBe('2025-01-13') // Wednesday
    expect(weekStart('2025-01-19')).toBe('2025-01-13') // Sunday belongs to the week before it
    expect(weekStart('2025-01-13')).toBe('2025-01-13') // a Monday is its own week start
    expect(weekStart('2025-01-01')).toBe('2024-12-30') // crosses the year boundary
  })

  it('monthStart returns the 1st of the month', () => {
    expect(monthStart('2025-02-28')).toBe('2025-02-01')
    expect(monthStart('2025-03-01')).toBe('2025-03-01')
  })

  it('quarterStart returns the 1st of January, April, July or October', () => {
    expect(quarterStart('2025-02-14')).toBe('2025-01-01')
    expect(quarterStart('2025-05-20')).toBe('2025-04-01')
    expect(quarterStart('2025-09-30')).toBe('2025-07-01')
    expect(quarterStart('2025-12-31')).toBe('2025-10-01')
  })

  it('yearStart returns the 1st of January', () => {
    expect(yearStart('2025-07-04')).toBe('2025-01-01')
    expect(yearStart('2024-12-31')).toBe('2024-01-01')
  })

  it('periodStart maps any day to its period start and nextPeriodStart steps one period', () => {
    expect(periodStart('2025-01-15', 'day')).toBe('2025-01-15')
    expect(periodStart('2025-01-15', 'week')).toBe('2025-01-13')
    expect(periodStart('2025-01-15', 'month')).toBe('2025-01-01')
    expect(nextPeriodStart('2025-01-31', 'day')).toBe('2025-02-01')
    expect(nextPeriodStart('2025-12-29', 'week')).toBe('2026-01-05')
    expect(nextPeriodStart('2025-01-01', 'month')).toBe('2025-02-01')
  })
})

describe('periodBounds', () => {
  it('spans a New York week from Monday midnight to the next Monday midnight across spring-forward', () => {
    expect(iso(periodBounds('2025-03-03', 'week', NEW_YORK))).toEqual({
      from: '2025-03-03T05:00:00.000Z',
      to: '2025-03-10T04:00:00.000Z',
    })
  })

  it('spans a New York month from the 1st to the next 1st across fall-back', () => {
    expect(iso(periodBounds('2025-11-01', 'month', NEW_YORK))).toEqual({
      from: '2025-11-01T04:00:00.000Z',
      to: '2025-12-01T05:00:00.000Z',
    })
  })

  it('gives a day period the same bounds as dayBounds', () => {
    expect(periodBounds('2025-03-09', 'day', NEW_YORK)).toEqual(dayBounds('2025-03-09', NEW_YORK))
  })
})

describe('dateKey', () => {
  it('turns YYYY-MM-DD into the YYYYMMDD integer', () => {
    expect(dateKey('2025-01-15')).toBe(20250115)
    expect(dateKey('2024-12-31')).toBe(20241231)
  })
})

describe('dateRange', () => {
  it('lists every day with both ends included across a month end', () => {
    expect(dateRange('2025-01-30', '2025-02-02')).toEqual(['2025-01-30', '2025-01-31', '2025-02-01', '2025-02-02'])
  })

  it('includes the leap day across the end of a leap February', () => {
    expect(dateRange('2024-02-28', '2024-03-01')).toEqual(['2024-02-28', '2024-02-29', '2024-03-01'])
  })

  it('lists a single day when from equals to', () => {
    expect(dateRange('2025-01-15', '2025-01-15')).toEqual(['2025-01-15'])
  })

  it('lists all 365 days of 2025', () => {
    expect(dateRange('2025-01-01', '2025-12-31')).toHaveLength(365)
  })

  it('rejects a reversed range as BAD_RANGE with exit code 2', () => {
    const error = thrown(() => dateRange('2025-01-16', '2025-01-15'))
    expect(error.code).toBe('BAD_RANGE')
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe('--from 2025-01-16 is after --to 2025-01-15; swap them')
  })

  it('rejects an invalid end as BAD_DATE naming --from or --to', () => {
    expect(thrown(() => dateRange('2025-02-30', '2025-03-01'))).toMatchObject({ code: 'BAD_DATE', message: expect.stringContaining('--from') })
    expect(thrown(() => dateRange('2025-03-01', '2025-3-2'))).toMatchObject({ code: 'BAD_DATE', message: expect.stringContaining('--to') })
  })
})

describe('yesterday and dateOf', () => {
  it('takes the day before the zone-local day, not the UTC day', () => {
    // 03:00 UTC on Jan 15 is 19:00 on Jan 14 in Los Angeles
    const now = new Date('2025-01-15T03:00:00Z')
    expect(dateOf(now, LOS_ANGELES)).toBe('2025-01-14')
    expect(yesterday(now, LOS_ANGELES)).toBe('2025-01-13')
    expect(yesterday(now, 'UTC')).toBe('2025-01-14')
  })

  it('takes the day before in a zone ahead of UTC that has already passed midnight', () => {
    // 20:00 UTC on Jan 14 is 05:00 on Jan 15 in Tokyo
    const now = new Date('2025-01-14T20:00:00Z')
    expect(yesterday(now, 'Asia/Tokyo')).toBe('2025-01-14')
    expect(yesterday(now, 'UTC')).toBe('2025-01-13')
  })

  it('just after midnight on the day after spring-forward returns the short day', () => {
    // 00:30 EDT on 2025-03-10
    expect(yesterday(new Date('2025-03-10T04:30:00Z'), NEW_YORK)).toBe('2025-03-09')
  })
})
