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
  /** Longest backoff between two attempts. */
  maxBackoffMs?: number
  /** How long to wait for a job that is not complete, in all. */
  maxWaitMs?: number
  /** Waits between attempts and polls; tests pass one that does not really wait. */
  sleep?: (ms: number) => Promise<void>
  /** Jitter source; tests fix it. */
  random?: () => number
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
    /** Google's `errors[0].reason`: rateLimitExceeded, quotaExceeded, backendError, accessDenied… */
    readonly reason?: string,
  ) {
    super(message)
    this.name = 'BigQueryError'
  }

  /** Worth asking again: Google's own clients retry these reasons, 5xx and 429. */
  get retryable(): boolean {
    return retryableReason(this.reason) || this.status === undefined || this.status === 429 || this.status >= 500
  }
}

/**
 * The reasons google-cloud-bigquery (python and node) retries. quotaExceeded is not one: a
 * daily or project quota does not come back within a backoff.
 */
const RETRYABLE_REASONS = new Set(['rateLimitExceeded', 'backendError', 'internalError', 'badGateway', 'jobRateLimitExceeded'])
const retryableReason = (reason: string | undefined) => reason !== undefined && RETRYABLE_REASONS.has(reason)

interface JobResource {
  status?: { state?: string; errorResult?: { reason?: string; message?: string } }
}

/**
 * BigQuery's REST API, the calls a sync needs: `jobs.query` to start a query, then
 * `jobs.getQueryResults` to wait for it (`jobComplete: false` → ask again) and to page through
 * its rows with `pageToken`. Each call is retried as Google's clients do, on 5xx, 429, network
 * errors and the reasons rateLimitExceeded, backendError and internalError (a 403 too), with a
 * doubling, jittered backoff; a job that itself failed with such a reason is run again (a new
 * `jobs.query`) instead of asking for its results. quotaExceeded, 401 and other 403s fail at once,
 * their reason in the message.
 *
 * @example
 * const bq = new BigQueryClient({ projectId: 'acme', baseUrl: 'https://bigquery.googleapis.com', token })
 * for await (const page of bq.query('select * from `acme.sales.orders`')) console.log(page.rows.length)
 */
export class BigQueryClient {
  readonly #o: Required<Omit<BigQueryClientOptions, 'location'>> & { location: string | undefined }

  constructor(options: BigQueryClientOptions) {
    this.#o = {
      pageSize: 50_000,
      attempts: 5,
      backoffMs: 500,
      maxBackoffMs: 32_000,
      maxWaitMs: 3_600_000,
      location: undefined,
      sleep: (ms) => sleep(ms),
      random: Math.random,
      ...options,
    }
  }

  /** The result columns of a query, from a dry run: nothing is read or billed. */
  async schema(query: string, parameters: QueryParameter[] = []): Promise<BigQueryField[]> {
    const response = await this.#call<QueryResponse>('POST', this.#path('/queries'), { ...this.#body(query, parameters), dryRun: true })
    if (!response.schema) throw new BigQueryError('the BigQuery dry run returned no schema', undefined)
    return response.schema.fields
  }

  /** Runs a query and yields its rows page by page; the next page is fetched only when asked for. */
  async *query(query: string, parameters: QueryParameter[] = []): AsyncGenerator<QueryPage> {
    let { job, response } = await this.#completed(query, parameters)
    const schema = response.schema?.fields ?? []
    for (;;) {
      yield { schema, rows: response.rows ?? [] }
      if (!response.pageToken) return
      response = await this.#call<QueryResponse>('GET', this.#resultsUrl(job, response.pageToken))
    }
  }

  /** Starts the query and waits for it; a job that failed for a retryable reason is run again. */
  async #completed(query: string, parameters: QueryParameter[]): Promise<{ job: JobReference; response: QueryResponse }> {
    for (let run = 1; ; run++) {
      const response = await this.#call<QueryResponse>('POST', this.#path('/queries'), { ...this.#body(query, parameters), maxResults: this.#o.pageSize })
      const job = response.jobReference
      if (!job) throw new BigQueryError('BigQuery answered the query without a job reference', undefined)
      try {
        return { job, response: await this.#untilComplete(job, response) }
      } catch (error) {
        if (!(error instanceof JobFailed) || !error.retryable || run >= this.#o.attempts) throw error
        await this.#o.sleep(this.#backoff(run))
      }
    }
  }

  async #untilComplete(job: JobReference, first: QueryResponse): Promise<QueryResponse> {
    let response = first
    const started = Date.now()
    let wait = 200
    let failures = 0
    while (!response.jobComplete) {
      if (Date.now() - started > this.#o.maxWaitMs) throw new BigQueryError(`BigQuery job ${job.jobId} did not complete in ${this.#o.maxWaitMs / 1000} s`, undefined)
      await this.#o.sleep(wait)
      wait = Math.min(wait * 2, 5000)
      try {
        response = await this.#call<QueryResponse>('GET', this.#resultsUrl(job), undefined, 1)
      } catch (error) {
        if (!(error instanceof BigQueryError) || !error.retryable) throw error
        // the job itself may have failed: then its results are its error however often we ask
        const state = await this.#call<JobResource>('GET', `${this.#path(`/jobs/${encodeURIComponent(job.jobId)}`)}${this.#locationQuery(job)}`)
        const failed = state.status?.state === 'DONE' ? state.status.errorResult : undefined
        if (failed) {
          throw new JobFailed(`BigQuery job ${job.jobId} failed (${failed.reason ?? 'no reason'}: ${failed.message ?? 'no message'})`, error.status, failed.reason)
        }
        if (++failures >= this.#o.attempts) throw error
        await this.#o.sleep(this.#backoff(failures))
      }
    }
    return response
  }

  #resultsUrl(job: JobReference, pageToken?: string): string {
    const params = new URLSearchParams({ maxResults: String(this.#o.pageSize), timeoutMs: '10000', 'formatOptions.useInt64Timestamp': 'true' })
    const location = job.location ?? this.#o.location
    if (location) params.set('location', location)
    if (pageToken) params.set('pageToken', pageToken)
    return `${this.#path(`/queries/${encodeURIComponent(job.jobId)}`)}?${params}`
  }

  #locationQuery(job: JobReference): string {
    const location = job.location ?? this.#o.location
    return location ? `?location=${encodeURIComponent(location)}` : ''
  }

  /** Doubling from backoffMs, capped, with equal jitter (at least half of it). */
  #backoff(retry: number): number {
    const full = Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** (retry - 1))
    return Math.round(full / 2 + (this.#o.random() * full) / 2)
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

  async #call<T>(method: 'GET' | 'POST', url: string, body?: unknown, attempts = this.#o.attempts): Promise<T> {
    let lastError: BigQueryError | undefined
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await this.#o.sleep(this.#backoff(attempt - 1))
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
        lastError = new BigQueryError(`BigQuery could not be reached: ${(error as Error).message}`, undefined)
        continue
      }
      if (status >= 200 && status < 300) return JSON.parse(text) as T
      const { message, reason } = googleError(text)
      const why = reason ? ` ${reason}` : ''
      if (reason === 'quotaExceeded') {
        throw new BigQueryError(`BigQuery quota exceeded (HTTP ${status} quotaExceeded: ${message}); wait for the quota to refill or raise it in the Google Cloud console`, status, reason)
      }
      if ((status === 401 || status === 403) && !retryableReason(reason)) {
        throw new BigQueryError(`BigQuery refused the credentials (HTTP ${status}${why}: ${message}); check GOOGLE_APPLICATION_CREDENTIALS and the account's BigQuery roles`, status, reason)
      }
      lastError = new BigQueryError(`BigQuery answered HTTP ${status}${why}: ${message}`, status, reason)
      if (!lastError.retryable) throw lastError
    }
    if (attempts === 1 && lastError) throw lastError
    throw new BigQueryError(`${lastError?.message ?? 'BigQuery failed'} (after ${attempts} attempts)`, lastError?.status, lastError?.reason)
  }
}

/** A job that ran and failed: BigQuery keeps answering its error, so only a new job can succeed. */
class JobFailed extends BigQueryError {}

type JobReference = { projectId: string; jobId: string; location?: string }

/** Google's error body `{ error: { message, errors: [{ reason }] } }`, or the text itself. */
function googleError(text: string): { message: string; reason?: string } {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string; errors?: Array<{ reason?: string }> } }
    return { message: parsed.error?.message ?? text.slice(0, 200), reason: parsed.error?.errors?.[0]?.reason }
  } catch {
    return { message: text.slice(0, 200) }
  }
}
