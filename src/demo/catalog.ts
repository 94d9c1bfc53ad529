import { sql, type RawBuilder } from 'kysely'
import { SUBJECTS, type DemoPlan } from './plan.js'
import { intBetween, nameInTurn, randomFor, seconds, secondsWithin, type Random } from './random.js'

const DAY = 86_400

const TOPICS = [
  'Foundations', 'Patterns', 'Vocabulary', 'Fluency', 'Reasoning',
  'Problem solving', 'Applications', 'Investigations', 'Review', 'Challenges',
]

/** The market-data universe the price jobs ingest: one of each asset class and provider. */
const ASSETS = [
  { symbol: 'AAPL', assetClass: 'stock', provider: 'polygon', coingeckoId: null },
  { symbol: 'MSFT', assetClass: 'stock', provider: 'polygon', coingeckoId: null },
  { symbol: 'NVDA', assetClass: 'stock', provider: 'polygon', coingeckoId: null },
  { symbol: 'SPY', assetClass: 'etf', provider: 'polygon', coingeckoId: null },
  { symbol: 'QQQ', assetClass: 'etf', provider: 'polygon', coingeckoId: null },
  { symbol: 'I:SPX', assetClass: 'index', provider: 'polygon', coingeckoId: null },
  { symbol: 'BTC', assetClass: 'crypto', provider: 'coingecko', coingeckoId: 'bitcoin' },
  { symbol: 'ETH', assetClass: 'crypto', provider: 'coingecko', coingeckoId: 'ethereum' },
] as const

/** A catalog changes rarely: mostly long before the window, now and then inside it. */
function catalogUpdatedAt(plan: DemoPlan, r: Random, changedShare: number): RawBuilder<Date> {
  const { windowStart: ws, windowSeconds: w } = plan
  return sql<Date>`case when ${r('changed')} < ${sql.lit(changedShare)}
    then ${ws} + ${secondsWithin(r('changed_at'), w)}
    else ${ws} - ${seconds(60 * DAY)} - ${secondsWithin(r('created'), 300 * DAY)} end`
}

export function insertSubjects(plan: DemoPlan): RawBuilder<unknown> {
  const r = randomFor(plan.seed, 'subjects', sql`g`)
  const codes = SUBJECTS.map((s) => s.code)
  const names = SUBJECTS.map((s) => s.name)
  return sql`
    insert into subjects (id, code, name, updated_at)
    select g, ${nameInTurn(codes, sql`g`)}, ${nameInTurn(names, sql`g`)}, ${catalogUpdatedAt(plan, r, 0.2)}
    from generate_series(1, ${sql.lit(SUBJECTS.length)}) g`
}

export function insertSkills(plan: DemoPlan): RawBuilder<unknown> {
  const r = randomFor(plan.seed, 'skills', sql`g`)
  const per = sql.lit(plan.skillsPerSubject)
  return sql`
    insert into skills (id, subject_id, code, name, difficulty, updated_at)
    select g, s.id, s.code || '-' || lpad(n::text, 2, '0'), s.name || ': ' || ${nameInTurn(TOPICS, sql`n`)},
      ${intBetween(r('difficulty'), 1, 5)}, ${catalogUpdatedAt(plan, r, 0.1)}
    from generate_series(1, ${sql.lit(plan.skills)}) g
    cross join lateral (select (g - 1) % ${per} + 1 as n) numbered
    join subjects s on s.id = (g - 1) / ${per} + 1`
}

export function insertAssets(): RawBuilder<unknown> {
  const rows = ASSETS.map((a) => sql`(${sql.lit(a.symbol)}, ${sql.lit(a.assetClass)}, ${sql.lit(a.provider)}, ${sql.lit(a.coingeckoId)})`)
  return sql`insert into assets (symbol, asset_class, provider, coingecko_id) values ${sql.join(rows)}`
}
