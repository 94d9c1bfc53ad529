import { sql } from 'kysely'
import type { Database } from '../../db/database.js'
import { EtlError } from '../../errors.js'
import { providerNamed, providerNames, providers } from '../../providers/index.js'
import { ASSET_CLASSES, type Asset, type AssetClass } from './types.js'

/**
 * The assets a run covers, from the source's `assets` list: the named symbols (a symbol not in
 * the list goes to the first provider that takes unlisted symbols: a Polygon ticker, an `I:`
 * prefix an index), or without names every active asset. A source without an `assets` table has
 * an empty list. An asset whose provider is not registered (src/providers/index.ts) is
 * BAD_INPUT (exit 2), not a guess.
 *
 * Case is kept: Polygon tickers are case-sensitive (KIMpL, a preferred share, is not KIMPL). A
 * name that is in the list only in another case ('kimpl') takes the list's spelling when that is
 * the one such entry; otherwise it goes to the provider as typed.
 */
export async function resolveAssets(source: Database, symbols: readonly string[] | undefined): Promise<Asset[]> {
  const known = await listAssets(source)
  if (!symbols || symbols.length === 0) return known.filter((a) => a.active).map(({ active: _, ...asset }) => registered(asset))
  const bySymbol = new Map(known.map((a) => [a.symbol, a]))
  const byFolded = new Map<string, Array<(typeof known)[number]>>()
  for (const a of known) byFolded.set(a.symbol.toLowerCase(), [...(byFolded.get(a.symbol.toLowerCase()) ?? []), a])
  const spelled = symbols.map((s) => s.trim()).filter(Boolean).map((s) => {
    if (bySymbol.has(s)) return s
    const folded = byFolded.get(s.toLowerCase())
    return folded?.length === 1 ? folded[0]!.symbol : s
  })
  return [...new Set(spelled)].map((symbol) => {
    const asset = bySymbol.get(symbol)
    if (asset) return registered({ symbol, assetClass: asset.assetClass, provider: asset.provider, coingeckoId: asset.coingeckoId })
    return unlisted(symbol)
  })
}

function registered(asset: Asset): Asset {
  if (providerNamed(asset.provider)) return asset
  throw new EtlError('BAD_INPUT', `assets: ${asset.symbol}'s provider '${asset.provider}' is not one of ${providerNames()}`)
}

function unlisted(symbol: string): Asset {
  for (const provider of providers()) {
    const assetClass = provider.unlisted?.(symbol)
    if (assetClass) return { symbol, assetClass, provider: provider.name, coingeckoId: null }
  }
  throw new EtlError('BAD_INPUT', `${symbol} is not in assets, and no provider takes symbols that are not`)
}

async function listAssets(source: Database): Promise<Array<Asset & { active: boolean }>> {
  const { rows: [found] } = await sql<{ exists: boolean }>`select to_regclass('assets') is not null as exists`.execute(source.db)
  if (!found?.exists) return []
  const { rows } = await sql<{ symbol: string; asset_class: string; provider: string; coingecko_id: string | null; active: boolean }>`
    select symbol, asset_class, provider, coingecko_id, active from assets order by symbol`.execute(source.db)
  return rows.map((r) => ({
    symbol: r.symbol,
    assetClass: (ASSET_CLASSES as readonly string[]).includes(r.asset_class) ? (r.asset_class as AssetClass) : 'stock',
    // as the registry spells names: 'Polygon ' is polygon
    provider: r.provider.trim().toLowerCase(),
    coingeckoId: r.coingecko_id,
    active: r.active,
  }))
}
