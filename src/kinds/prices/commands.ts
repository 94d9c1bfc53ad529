import { Argument, Option, type Command } from 'commander'
import { parseRange, RANGES, SHOW_RANGES } from './ranges.js'

// the engine, pg, undici and ioredis load only when a command runs, not for --help or a flag error
const actions = () => import('./actions.js')

const forceFlag = () => new Option('--force', 'run even outside market hours (the last market day, the last close)')

export function registerPricesCommands(program: Command): void {
  const prices = program
    .command('prices')
    .description('market prices from Polygon and CoinGecko (USE_MOCK_DATA=1: a built-in deterministic provider)')

  prices
    .command('historical')
    .description('daily bars of a range into price_bars_daily; without symbols, every active asset')
    .addArgument(new Argument('<RANGE>', RANGES.join(' ')).argParser((v) => parseRange(v)))
    .argument('[SYMBOL...]', 'symbols; one not in assets is taken as a Polygon ticker')
    .action(async (range: string, symbols: string[], _options: unknown, command: Command) =>
      (await actions()).ingest('historical', { range, symbols }, {}, command),
    )

  prices
    .command('hourly')
    .description('hourly bars of today (the last market day) into price_bars_hourly and the cache; SKIPPED outside market hours')
    .argument('[SYMBOL...]', 'symbols (default: every active asset)')
    .addOption(forceFlag())
    .action(async (symbols: string[], options: { force?: boolean }, command: Command) =>
      (await actions()).ingest('hourly', { symbols }, options, command),
    )

  prices
    .command('latest')
    .description('latest prices into latest_prices and the cache; SKIPPED outside market hours')
    .argument('[SYMBOL...]', 'symbols (default: every active asset)')
    .addOption(forceFlag())
    .action(async (symbols: string[], options: { force?: boolean }, command: Command) =>
      (await actions()).ingest('latest', { symbols }, options, command),
    )

  prices
    .command('show')
    .description('a symbol’s bars: 1D (hourly) from the cache, falling back to the warehouse; other ranges daily from the warehouse')
    .argument('<SYMBOL>')
    .addOption(new Option('--range <R>', SHOW_RANGES.join(' ')).argParser((v) => parseRange(v, SHOW_RANGES, '--range')).default('1D'))
    .option('--json', 'print an array of bars')
    .option('--regular-session', '1D: only the regular session’s hourly bars, not the extended hours (04:00–09:00, 16:00–20:00 New York)')
    .action(async (symbol: string, options: { range: string; json?: boolean; regularSession?: boolean }, command: Command) =>
      (await actions()).show(symbol, options, command),
    )

  const cache = program.command('cache').description('the Redis cache: latest prices, 1D charts and metric payloads')
  cache
    .command('warm')
    .description('precomputes the common payloads: every active asset’s latest price and 1D chart, recent metrics')
    .action(async (_options: unknown, command: Command) => (await actions()).warm(command))
  cache
    .command('stats')
    .description('hits, misses and keys per family')
    .option('--json', 'print an object')
    .action(async (options: { json?: boolean }, command: Command) => (await actions()).stats(options, command))
}
