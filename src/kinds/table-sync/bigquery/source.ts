import { Readable } from 'node:stream'
import type { Config } from '../../../config.js'
import { IDENTIFIER } from '../../../io/identifiers.js'
import type { Logger } from '../../../log.js'
import type { SyncSource } from '../source.js'
import { readServiceAccount, serviceAccountTokens } from './auth.js'
import { BigQueryClient } from './client.js'
import { copyLines, parameterType, parameterValue, postgresType, type BigQueryField } from './types.js'

/**
 * A BigQuery client from the settings config.ts reads: GOOGLE_APPLICATION_CREDENTIALS (a service
 * account key file), BIGQUERY_PROJECT_ID (default: the key's project), BIGQUERY_LOCATION,
 * BIGQUERY_BASE_URL (default the public endpoint; tests point it at a local server) and
 * BIGQUERY_TOKEN_URL.
 */
export async function clientFromConfig(settings: Config['bigquery']): Promise<BigQueryClient> {
  const file = settings.credentialsFile
  if (!file) throw new Error('a BigQuery source needs GOOGLE_APPLICATION_CREDENTIALS: the path of a service account key file')
  const key = readServiceAccount(file)
  const projectId = settings.projectId || key.project_id
  if (!projectId) throw new Error('a BigQuery source needs BIGQUERY_PROJECT_ID (the key file names no project)')
  return new BigQueryClient({
    projectId,
    baseUrl: settings.baseUrl,
    location: settings.location,
    token: await serviceAccountTokens(key, settings.tokenUrl),
  })
}

export function bigquerySource(
  source: { table: string } | { query: string },
  options: { log: Logger; settings: Config['bigquery']; client?: BigQueryClient },
): SyncSource {
  let client: Promise<BigQueryClient> | undefined
  return bigquerySourceWith(() => (client ??= options.client ? Promise.resolve(options.client) : clientFromConfig(options.settings)), source, options.log)
}

/** A table sync source over BigQuery: a dry run for the columns, then the rows page by page as COPY text. */
export function bigquerySourceWith(
  client: () => Promise<BigQueryClient>,
  source: { table: string } | { query: string },
  log?: Logger,
): SyncSource {
  const base = 'table' in source ? `select * from \`${source.table}\`` : source.query
  let described: BigQueryField[] | undefined
  return {
    async describe() {
      described = await (await client()).schema(base)
      return described.map((f) => {
        const name = f.name.toLowerCase()
        if (!IDENTIFIER.test(name)) throw new Error(`BigQuery column '${f.name}' is not a plain SQL name; rename it in a source query`)
        return { name, type: postgresType(f) }
      })
    },
    async rows(columns, since) {
      const bq = await client()
      const text = since ? `select * from (${base}) where \`${since.column}\` >= @since` : base
      const parameters = since ? [{ name: 'since', type: parameterType(since.type), value: parameterValue(since.value, since.type) }] : []
      const pages = bq.query(text, parameters)
      let total = 0
      async function* lines() {
        for await (const page of pages) {
          if (page.schema.length !== columns.length || page.schema.some((f, i) => f.name.toLowerCase() !== columns[i]!.name)) {
            throw new Error(`BigQuery returned columns ${page.schema.map((f) => f.name).join(', ')}, not the ${columns.map((c) => c.name).join(', ')} it described`)
          }
          total += page.rows.length
          if (page.rows.length) yield Buffer.from(copyLines(page.schema, page.rows))
        }
        log?.debug({ rows: total }, 'read from BigQuery')
      }
      return Readable.from(lines())
    },
  }
}
