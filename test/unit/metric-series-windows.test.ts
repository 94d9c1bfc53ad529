import { describe, expect, it } from 'vitest'
import { parseCompanyId, seriesWindow } from '../../src/kinds/series/time-series.js'
import { rollupPeriods } from '../../src/kinds/rollup/actions.js'

describe('tenant time series windows', () => {
  it.each([
    ['weekly', '2025-01-01', '2024-12-26'],
    ['monthly', '2025-01-01', '2025-01-01'],
    ['quarterly', '2025-03-31', '2025-01-01'],
    ['quarterly', '2025-04-01', '2025-04-01'],
    ['yearly', '2025-12-31', '2025-01-01'],
    ['monthly', '2024-02-29', '2024-02-01'],
  ] as const)('%s window on %s starts %s and ends that day', (period, today, from) => {
    expect(seriesWindow(period, today)).toEqual({ period, from, to: today })
  })

  it('accepts only positive integer tenant ids', () => {
    expect(parseCompanyId('42')).toBe(42)
    for (const bad of ['0', '-1', '1.5', '1e3', ' 1', '1;drop', 'analytics', '', '99999999999999999', '0x10']) {
      expect(() => parseCompanyId(bad), bad).toThrow(/is not a tenant id/)
    }
  })
})

describe('rollup command periods', () => {
  it('defaults to the last complete week (Monday) and month', () => {
    expect(rollupPeriods('weekly', {}, '2025-01-15')).toEqual(['2025-01-06'])
    expect(rollupPeriods('weekly', {}, '2025-01-13')).toEqual(['2025-01-06']) // on a Monday, the week just ended
    expect(rollupPeriods('monthly', {}, '2025-01-15')).toEqual(['2024-12-01'])
    expect(rollupPeriods('monthly', {}, '2025-03-01')).toEqual(['2025-02-01'])
  })

  it('takes a week by any of its days, and ranges of weeks or months', () => {
    expect(rollupPeriods('weekly', { week: '2025-01-19' }, '2025-06-01')).toEqual(['2025-01-13'])
    expect(rollupPeriods('weekly', { from: '2024-12-31', to: '2025-01-13' }, '2025-06-01')).toEqual(['2024-12-30', '2025-01-06', '2025-01-13'])
    expect(rollupPeriods('monthly', { from: '2024-11', to: '2025-02' }, '2025-06-01')).toEqual(['2024-11-01', '2024-12-01', '2025-01-01', '2025-02-01'])
    expect(() => rollupPeriods('monthly', { from: '2025-02', to: '2024-11' }, '2025-06-01')).toThrow(/after --to/)
    expect(() => rollupPeriods('weekly', { from: '2025-01-01' }, '2025-06-01')).toThrow(/both --from and --to/)
  })
})
