import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import type { TokenProvider } from './auth.js'
import type { BigQueryField, BigQueryRow } from './types.js'

export interface BigQueryClientOptions {
  projectId: string
  /** `https://bigquery.googleapis.com` unless BIGQUERY_BASE_URL says otherwise. */
  baseUrl: string
  token: TokenProvider
  location?: string
  /** Rows per page asked of getQueryResults. */
  pageSize?: number
  /** Attempts per HTTP call on 5xx, 429 and network errors. */
  attempts?: number
  /** First backoff between attempts, doubled each time. */
  backoffMs?: number
  /** How long to wait for a job that is not complete, in all. */
  maxWaitMs?: number
}

export interface QueryParameter {
  name: string
  type: string
  value: string
}

export interface QueryPage {
  schema: BigQueryField[]
  rows: BigQueryRow[]
}

interface QueryResponse {
  jobComplete?: boolean
  jobReference?: { projectId: string; jobId: string; location?: string }
  schema?: { fields: BigQueryField[] }
  rows?: BigQueryRow[]
  pageToken?: string
  totalRows?: string
}

export class BigQueryError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message)
    this.name = 'BigQueryError'
  }
}

/**
 * BigQuery's REST API, the two calls a sync needs: `jobs.query` to start a query, then
 * `jobs.getQueryResults` to wait for it (`jobComplete: false` → ask again) and to page through
 * its rows with `pageToken`. Each call is retried on 5xx, 429 and network errors with a
 * doubling backoff; 401 and 403 are not retried.
 *
 * @example
 * const bq = new BigQueryClient({ projectId: 'acme', baseUrl: 'https://bigquery.googleapis.com', token })
 * for await (const page of bq.query('select * from `acme.sales.orders`')) console.log(page.rows.length)
 */
export class BigQueryClient {
  readonly #o: Required<Omit<BigQueryClientOptions, 'location'>> & { location: string | undefined }

  constructor(options: BigQueryClientOptions) {
    this.#o = { pageSize: 50_000, attempts: 5, backoffMs: 500, maxWaitMs: 3_600_000, location: undefined, ...options }
  }

  /** The result columns of a query, from a dry run: nothing is read or billed. */
  async schema(query: string, parameters: QueryParameter[] = []): Promise<BigQueryField[]> {
    const response = await this.#call<QueryResponse>('POST', this.#path('/queries'), { ...this.#body(query, parameters), dryRun: true })
    if (!response.schema) throw new BigQueryError('the BigQuery dry run returned no schema', undefined)
    return response.schema.fields
  }

  /** Runs a query and yields its rows page by page; the next page is fetched only when asked for. */
  async *query(query: string, parameters: QueryParameter[] = []): AsyncGenerator<QueryPage> {
    let response = await this.#call<QueryResponse>('POST', this.#path('/queries'), { ...this.#body(query, parameters), maxResults: this.#o.pageSize })
    const job = response.jobReference
    if (!job) throw new BigQueryError('BigQuery answered the query without a job reference', undefined)
    const results = (pageToken?: string) => {
      const params = new URLSearchParams({ maxResults: String(this.#o.pageSize), timeoutMs: '10000', 'formatOptions.useInt64Timestamp': 'true' })
      if (job.location ?? this.#o.location) params.set('location', (job.location ?? this.#o.location)!)
      if (pageToken) params.set('pageToken', pageToken)
      return this.#call<QueryResponse>('GET', `${this.#path(`/queries/${encodeURIComponent(job.jobId)}`)}?${params}`)
    }
    const started = Date.now()
    let wait = 200
    while (!response.jobComplete) {
      if (Date.now() - started > this.#o.maxWaitMs) throw new BigQueryError(`BigQuery job ${job.jobId} did not complete in ${this.#o.maxWaitMs / 1000} s`, undefined)
      await sleep(wait)
      wait = Math.min(wait * 2, 5000)
      response = await results()
    }
    const schema = response.schema?.fields ?? []
    for (;;) {
      yield { schema, rows: response.rows ?? [] }
      if (!response.pageToken) return
      response = await results(response.pageToken)
    }
  }

  #path(suffix: string): string {
    return `${this.#o.baseUrl.replace(/\/$/, '')}/bigquery/v2/projects/${encodeURIComponent(this.#o.projectId)}${suffix}`
  }

  #body(query: string, parameters: QueryParameter[]) {
    return {
      query,
      useLegacySql: false,
      timeoutMs: 10_000,
      location: this.#o.location,
      formatOptions: { useInt64Timestamp: true },
      ...(parameters.length
        ? {
            parameterMode: 'NAMED',
            queryParameters: parameters.map((p) => ({ name: p.name, parameterType: { type: p.type }, parameterValue: { value: p.value } })),
          }
        : {}),
    }
  }

  async #call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
    let lastError: Error | undefined
    for (let attempt = 1; attempt <= this.#o.attempts; attempt++) {
      if (attempt > 1) await sleep(this.#o.backoffMs * 2 ** (attempt - 2))
      let status: number
      let text: string
      try {
        const token = await this.#o.token()
        const response = await request(url, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
        status = response.statusCode
        text = await response.body.text()
      } catch (error) {
        if (/authentication failed/.test((error as Error).message)) throw error
        lastError = error as Error
        continue
      }
      if (status >= 200 && status < 300) return JSON.parse(text) as T
      const message = errorMessage(text)
      if (status === 401 || status === 403) {
        throw new BigQueryError(`BigQuery refused the credentials (HTTP ${status}: ${message}); check GOOGLE_APPLICATION_CREDENTIALS and the account's BigQuery roles`, status)
      }
      lastError = new BigQueryError(`BigQuery answered HTTP ${status}: ${message}`, status)
      if (status < 500 && status !== 429) throw lastError
    }
    throw new BigQueryError(`${lastError?.message ?? 'BigQuery failed'} (after ${this.#o.attempts} attempts)`, (lastError as BigQueryError)?.status)
  }
}

function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string } }
    return parsed.error?.message ?? text.slice(0, 200)
  } catch {
    return text.slice(0, 200)
  }
}
