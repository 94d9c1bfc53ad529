import { definePrices } from '../../src/define.js'

// Hourly bars of the market day with extended hours (Polygon's 04:00–20:00 New York, 16 bars),
// each hour from 04:30; the 20:30 run collects the 19:00 bar, the last of the day.
export default definePrices({
  kind: 'prices',
  description: 'hourly bars of today (the last market day) of every active asset',
  schedule: '30 4-20 * * 1-5',
  timezone: 'America/New_York',
  pipeline: false,
  command: 'hourly',
  bars: 'hourly',
  marketHoursOnly: true,
  extendedHours: true,
  afterCloseMinutes: 60,
  retention: '2 years',
})
