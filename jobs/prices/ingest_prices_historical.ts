import { definePrices } from '../../src/define.js'

// Daily bars of every active asset after the close; `etl prices historical RANGE` runs it for any range.
export default definePrices({
  kind: 'prices',
  description: 'daily bars (default: the last 7 days) of every active asset',
  schedule: '30 16 * * 1-5',
  timezone: 'America/New_York',
  pipeline: false,
  command: 'historical',
  bars: 'daily',
  range: '7D',
})
