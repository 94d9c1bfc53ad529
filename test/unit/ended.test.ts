import { describe, expect, it } from 'vitest'
import { assertEnded, hasEnded, lastEndedDay } from '../../src/engine/ended.js'
import { validateJob } from '../../src/engine/registry.js'
import { clockFrom } from '../../src/time/clock.js'

const weekly = validateJob({ kind: 'custom', name: 'fx_weekly', partition: 'week', run: async () => {} }, 'test/fx_weekly.ts')
// Wednesday 2026-12-02 03:00 UTC: still Tuesday 2026-12-01 in New York
const now = new Date('2026-12-02T03:00:00Z')

describe('what has ended', () => {
  it('judges today in the configured zone, not the machine’s or UTC', () => {
    expect(() => assertEnded([], '2026-12-01', now, 'UTC')).not.toThrow()
    expect(() => assertEnded([], '2026-12-01', now, 'America/New_York')).toThrow(/--date 2026-12-01 has not ended yet in America\/New_York \(today is 2026-12-01\)/)
    expect(lastEndedDay('day', now, 'America/New_York')).toBe('2026-11-30')
  })

  it('a week has ended once its Sunday is before today', () => {
    expect(hasEnded('2026-11-29', 'week', now, 'UTC')).toBe(true)
    expect(hasEnded('2026-11-30', 'week', now, 'UTC')).toBe(false)
    expect(hasEnded('2026-11-30', 'month', now, 'UTC')).toBe(true)
    expect(lastEndedDay('week', now, 'UTC')).toBe('2026-11-29')
    expect(lastEndedDay('month', now, 'UTC')).toBe('2026-11-30')
    expect(() => assertEnded([weekly], '2026-12-01', new Date('2026-12-05T12:00:00Z'), 'UTC')).toThrow(/week of 2026-11-30, which has not ended yet \(it ends 2026-12-06\)/)
  })

  it('ETL_NOW starts the clock at an instant and lets it run on', async () => {
    const clock = clockFrom(new Date('2026-12-02T08:00:00Z'))
    const first = clock().getTime()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(first - Date.parse('2026-12-02T08:00:00Z')).toBeLessThan(1000)
    expect(clock().getTime()).toBeGreaterThan(first)
  })
})
