import { describe, expect, it } from 'vitest'
import {
  easterSunday,
  isMarketOpen,
  isTradingDay,
  lastMarketDay,
  marketDate,
  marketWindow,
  nextOpen,
  nyseHolidays,
  previousTradingDay,
  sessionOf,
} from '../../src/time/market.js'

const at = (iso: string) => new Date(iso)

describe('market calendar: holidays by rule', () => {
  it('computes Easter for early, late and ordinary years (Good Friday follows)', () => {
    expect(easterSunday(2024)).toBe('2024-03-31')
    expect(easterSunday(2025)).toBe('2025-04-20')
    expect(easterSunday(2026)).toBe('2026-04-05')
    expect(easterSunday(2008)).toBe('2008-03-23')
    expect(easterSunday(2038)).toBe('2038-04-25')
    expect(easterSunday(2285)).toBe('2285-03-22')
    expect(nyseHolidays(2027).get('2027-03-26')).toBe('Good Friday')
  })

  it('lists the 2024 and 2026 NYSE holidays exactly', () => {
    expect([...nyseHolidays(2024).keys()].sort()).toEqual([
      '2024-01-01', '2024-01-15', '2024-02-19', '2024-03-29', '2024-05-27', '2024-06-19',
      '2024-07-04', '2024-09-02', '2024-11-28', '2024-12-25',
    ])
    expect([...nyseHolidays(2026).keys()].sort()).toEqual([
      '2026-01-01', '2026-01-19', '2026-02-16', '2026-04-03', '2026-05-25', '2026-06-19',
      '2026-07-03', '2026-09-07', '2026-11-26', '2026-12-25',
    ])
  })

  it('observes a Saturday holiday on Friday and a Sunday holiday on Monday', () => {
    const y2027 = nyseHolidays(2027)
    expect(y2027.get('2027-06-18')).toBe('Juneteenth National Independence Day (observed)')
    expect(y2027.get('2027-07-05')).toBe('Independence Day (observed)')
    expect(y2027.get('2027-12-24')).toBe('Christmas Day (observed)')
    expect(nyseHolidays(2022).get('2022-06-20')).toBe('Juneteenth National Independence Day (observed)')
    expect(nyseHolidays(2023).get('2023-01-02')).toBe("New Year's Day (observed)")
  })

  it('keeps 31 December open when New Year’s Day falls on a Saturday', () => {
    expect(isTradingDay('2021-12-31')).toBe(true)
    expect(nyseHolidays(2022).has('2022-01-01')).toBe(false)
    expect(isTradingDay('2027-12-31')).toBe(true)
  })

  it('has no Juneteenth before 2022 and knows the ad hoc closures', () => {
    expect(isTradingDay('2021-06-18')).toBe(true)
    expect(isTradingDay('2025-01-09')).toBe(false)
    expect(isTradingDay('2012-10-29')).toBe(false)
  })

  it('is closed at weekends and finds the previous trading day across a long weekend', () => {
    expect(isTradingDay('2025-04-19')).toBe(false)
    expect(previousTradingDay('2025-04-21')).toBe('2025-04-17') // Monday after Good Friday
    expect(previousTradingDay('2024-01-02')).toBe('2023-12-29')
  })
})

describe('market calendar: sessions across DST', () => {
  it('opens at 09:30 New York time on both sides of the spring change', () => {
    expect(sessionOf('2025-03-07')!.open.toISOString()).toBe('2025-03-07T14:30:00.000Z') // EST
    expect(sessionOf('2025-03-10')!.open.toISOString()).toBe('2025-03-10T13:30:00.000Z') // EDT
    expect(sessionOf('2025-03-10')!.close.toISOString()).toBe('2025-03-10T20:00:00.000Z')
  })

  it('opens at 09:30 New York time on both sides of the autumn change', () => {
    expect(sessionOf('2025-10-31')!.open.toISOString()).toBe('2025-10-31T13:30:00.000Z')
    expect(sessionOf('2025-11-03')!.open.toISOString()).toBe('2025-11-03T14:30:00.000Z')
  })

  it('closes at 13:00 on early-close days', () => {
    expect(sessionOf('2025-11-28')).toMatchObject({ earlyClose: true })
    expect(sessionOf('2025-11-28')!.close.toISOString()).toBe('2025-11-28T18:00:00.000Z')
    expect(sessionOf('2025-07-03')!.close.toISOString()).toBe('2025-07-03T17:00:00.000Z')
    expect(sessionOf('2025-12-24')!.earlyClose).toBe(true)
    expect(sessionOf('2025-12-26')!.earlyClose).toBe(false)
  })

  it('is open from the opening bell, closed at the closing bell (half-open)', () => {
    expect(isMarketOpen(at('2025-03-10T13:29:59Z'))).toBe(false)
    expect(isMarketOpen(at('2025-03-10T13:30:00Z'))).toBe(true)
    expect(isMarketOpen(at('2025-03-10T19:59:59Z'))).toBe(true)
    expect(isMarketOpen(at('2025-03-10T20:00:00Z'))).toBe(false)
    // 14:00 UTC is 09:00 EST the Friday before: not yet open
    expect(isMarketOpen(at('2025-03-07T14:00:00Z'))).toBe(false)
    expect(isMarketOpen(at('2025-12-25T15:00:00Z'))).toBe(false)
  })

  it('dates a bar by its New York day, not its UTC day', () => {
    // a daily bar stamped at New York midnight is 05:00 UTC in winter
    expect(marketDate(Date.parse('2024-01-02T05:00:00Z'))).toBe('2024-01-02')
    expect(marketDate(at('2024-01-03T02:00:00Z'))).toBe('2024-01-02')
  })

  it('takes today as the market day only once the session opened', () => {
    expect(lastMarketDay(at('2025-03-10T13:00:00Z'))).toBe('2025-03-07')
    expect(lastMarketDay(at('2025-03-10T15:00:00Z'))).toBe('2025-03-10')
    expect(lastMarketDay(at('2025-04-19T15:00:00Z'))).toBe('2025-04-17')
  })

  it('finds the next opening bell over a holiday weekend', () => {
    expect(nextOpen(at('2025-04-17T21:00:00Z')).toISOString()).toBe('2025-04-21T13:30:00.000Z')
    expect(nextOpen(at('2025-03-10T12:00:00Z')).toISOString()).toBe('2025-03-10T13:30:00.000Z')
  })

  it('says why a market-hours job has nothing to do, and allows a grace after the close', () => {
    expect(marketWindow(at('2025-12-25T15:00:00Z'))).toEqual({
      open: false,
      reason: 'market closed (2025-12-25: Christmas Day); next open 2025-12-26 09:30 EST',
    })
    expect(marketWindow(at('2025-03-08T15:00:00Z')).reason).toMatch(/weekend/)
    expect(marketWindow(at('2025-03-10T20:30:00Z')).open).toBe(false)
    expect(marketWindow(at('2025-03-10T20:30:00Z'), 60).open).toBe(true)
  })
})
