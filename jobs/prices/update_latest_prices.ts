import { definePrices } from '../../src/define.js'

// Every minute of the session; cron cannot say 09:30, so the runs from 09:00 to 09:29 skip at once.
export default definePrices({
  kind: 'prices',
  description: 'latest price of every active asset, into latest_prices and the cache',
  schedule: '* 9-15 * * 1-5',
  timezone: 'America/New_York',
  pipeline: false,
  command: 'latest',
  bars: 'latest',
  marketHoursOnly: true,
})
