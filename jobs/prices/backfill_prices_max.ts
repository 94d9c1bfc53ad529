import { definePrices } from '../../src/define.js'

// The whole history once a week, while the market sleeps: repairs splits and late corrections.
export default definePrices({
  kind: 'prices',
  description: 'daily bars of the whole available history of every active asset',
  schedule: '0 2 * * 0',
  timezone: 'America/New_York',
  pipeline: false,
  bars: 'daily',
  range: 'MAX',
})
