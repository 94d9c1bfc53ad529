import { definePrices } from '../../src/define.js'

// Hourly bars of the market day, each hour of the session; the 16:30 run collects the last hour.
export default definePrices({
  kind: 'prices',
  description: 'hourly bars of today (the last market day) of every active asset',
  schedule: '30 9-16 * * 1-5',
  timezone: 'America/New_York',
  pipeline: false,
  bars: 'hourly',
  marketHoursOnly: true,
  afterCloseMinutes: 60,
  retention: '2 years',
})
