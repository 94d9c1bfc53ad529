import { setTimeout as sleep } from 'node:timers/promises'
import type { LookupFunction } from 'node:net'
import { Agent } from 'undici'
import type { Logger } from '../log.js'
import { redact } from '../redact.js'

/**
 * How hard nightshift may press one HTTP API. The defaults are the market-data design's: at most
 * one request start every 200 ms (5 requests/s), a few in flight at once, bounded retries.
 */
export interface HttpLimits {
  /** Least time between the starts of two requests, retries included. */
  minIntervalMs: number
  /** Requests in flight at once. */
  concurrency: number
  /** Per attempt: time to the response headers, and between two chunks of the body. */
  timeoutMs: number
  /** Attempts after the first, for 429, 5xx, timeouts and dropped connections. */
  retries: number
  /** First backoff; doubles with each retry, with jitter, up to maxBackoffMs. */
  backoffMs: number
  maxBackoffMs: number
  /** A longer Retry-After (or rate-limit reset) than this is not waited for: the request fails instead. */
  maxRetryAfterMs: number
  /**
   * A 429 that says neither Retry-After nor x-ratelimit-reset (Polygon sends none): wait this long,
   * more than a per-minute window, so the window has surely turned before the next request.
   */
  rateLimitWindowMs: number
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  minIntervalMs: 200,
  concurrency: 4,
  timeoutMs: 15_000,
  retries: 4,
  backoffMs: 500,
  maxBackoffMs: 15_000,
  maxRetryAfterMs: 120_000,
  rateLimitWindowMs: 61_000,
}

/** Time for the client and its gate; tests pass one whose sleep does not really wait. */
export interface Clock {
  now(): number
  sleep(ms: number): Promise<void>
}

export const SYSTEM_CLOCK: Clock = { now: () => Date.now(), sleep: (ms) => sleep(ms) }

/** A request that failed for good: its status (if any answer came) and whether retries were spent on it. */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly attempts: number,
    options?: { cause?: unknown; body?: unknown },
  ) {
    super(message, options)
    this.name = 'HttpError'
    this.body = options?.body
  }

  /** The error answer's parsed JSON body, for a provider's own codes (CoinGecko's error_code). */
  readonly body: unknown
}

export type Query = Record<string, string | number | boolean | undefined>

/**
 * A JSON client for one API (one base URL, one rate limit), over an undici keep-alive pool.
 *
 * @example
 * const http = createHttpClient({ name: 'polygon', baseUrl: 'https://api.polygon.io', headers: { authorization: `Bearer ${key}` } })
 * const body = await http.getJson('/v2/aggs/ticker/AAPL/prev')
 * await http.close()
 */
export interface HttpClient {
  readonly name: string
  readonly limits: Readonly<HttpLimits>
  /** GET a path under the base URL, or an absolute URL on the same origin or a known host (a `next_url`). */
  getJson<T = unknown>(pathOrUrl: string, query?: Query): Promise<T>
  readonly stats: HttpStats
  close(): Promise<void>
}

export interface HttpStats {
  /** Attempts started (each retry counts). */
  requests: number
  retries: number
  failures: number
  firstStart: number | undefined
  lastStart: number | undefined
}

export interface HttpClientOptions {
  /** For logs and errors: 'polygon', 'coingecko'. */
  name: string
  baseUrl: string
  /** Sent with every request (API keys go here, never into the URL, so no log can show them). */
  headers?: Record<string, string>
  limits?: Partial<HttpLimits>
  log?: Logger
  /**
   * Other hosts of the same API a `next_url` may point to (Polygon answers with api.massive.com
   * since its rebrand). The headers, API key included, go there too; never to any other host.
   */
  knownHosts?: readonly string[]
  /** Jitter source; tests fix it. */
  random?: () => number
  /** DNS lookup for the sockets; tests resolve a provider's real host names to a local server. */
  lookup?: LookupFunction
  clock?: Clock
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...stripUndefined(options.limits ?? {}) }
  const base = new URL(options.baseUrl)
  const basePath = base.pathname.replace(/\/+$/, '')
  const random = options.random ?? Math.random
  const agent = new Agent({
    connections: limits.concurrency,
    keepAliveTimeout: 30_000,
    connect: { timeout: limits.timeoutMs, ...(options.lookup ? { lookup: options.lookup } : {}) },
  })
  const clock = options.clock ?? SYSTEM_CLOCK
  const gate = new RateGate(limits.minIntervalMs, limits.concurrency, clock)
  const stats: HttpStats = { requests: 0, retries: 0, failures: 0, firstStart: undefined, lastStart: undefined }
  const headers = { accept: 'application/json', 'user-agent': 'nightshift-etl', ...options.headers }

  const knownHosts = new Set((options.knownHosts ?? []).map((h) => h.toLowerCase()))
  // the API key travels in the headers: only to the configured origin or the API's own other hosts,
  // over https (or the configured scheme, for a local server)
  const mayFollow = (url: URL) =>
    url.origin === base.origin || (knownHosts.has(url.hostname.toLowerCase()) && (url.protocol === 'https:' || url.protocol === base.protocol))

  function target(pathOrUrl: string, query: Query | undefined): URL {
    let url: URL
    if (/^https?:\/\//i.test(pathOrUrl)) {
      url = new URL(pathOrUrl)
      if (!mayFollow(url)) {
        const allowed = [base.origin, ...[...knownHosts].map((h) => `https://${h}`)].join(', ')
        throw new HttpError(`${options.name}: refusing to follow ${url.origin}, which is not one of ${allowed}`, undefined, 0)
      }
      // a key some APIs append to their links stays out of URLs (and so out of logs): it is in a header
      url.searchParams.delete('apiKey')
    } else {
      url = new URL(base.origin)
      url.pathname = `${basePath}${pathOrUrl.startsWith('/') ? '' : '/'}${pathOrUrl}`
    }
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v))
    return url
  }

  async function getJson<T>(pathOrUrl: string, query?: Query): Promise<T> {
    const url = target(pathOrUrl, query)
    const what = `${options.name} GET ${redact(url.pathname + url.search)}`
    for (let attempt = 1; ; attempt++) {
      const release = await gate.acquire()
      const now = clock.now()
      stats.requests++
      stats.firstStart ??= now
      stats.lastStart = now
      let outcome: Attempt
      try {
        outcome = await once(url, what)
      } finally {
        release()
      }
      if (outcome.ok) return outcome.value as T
      const retriesLeft = attempt <= limits.retries
      if (!outcome.retriable || !retriesLeft || (outcome.retryAfterMs ?? 0) > limits.maxRetryAfterMs) {
        stats.failures++
        const tries = attempt > 1 ? ` after ${attempt} attempts` : ''
        const tooLong = (outcome.retryAfterMs ?? 0) > limits.maxRetryAfterMs ? ` (Retry-After ${Math.round(outcome.retryAfterMs! / 1000)}s is longer than we wait)` : ''
        throw new HttpError(`${outcome.message}${tries}${tooLong}`, outcome.status, attempt, { cause: outcome.cause, body: outcome.body })
      }
      stats.retries++
      const backoff = Math.min(limits.maxBackoffMs, limits.backoffMs * 2 ** (attempt - 1))
      // equal jitter: at least half the backoff, so retries of many symbols spread out
      const jittered = Math.round(backoff / 2 + (random() * backoff) / 2)
      // a 429 without a time to wait: outlast the provider's per-minute window, never try sooner
      const delay = outcome.retryAfterMs ?? (outcome.status === 429 ? limits.rateLimitWindowMs : jittered)
      // a 429 is about the whole API key: everyone waits, not only this request
      if (outcome.status === 429) gate.pauseFor(delay)
      options.log?.warn({ provider: options.name, attempt, delayMs: delay }, `${outcome.message}; retrying in ${Math.round(delay / 1000)} s`)
      await clock.sleep(delay)
    }
  }

  async function once(url: URL, what: string): Promise<Attempt> {
    let response
    try {
      response = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers,
        headersTimeout: limits.timeoutMs,
        bodyTimeout: limits.timeoutMs,
      })
    } catch (error) {
      return failure(error, what)
    }
    const { statusCode } = response
    let text: string
    try {
      text = await response.body.text()
    } catch (error) {
      return failure(error, what)
    }
    if (statusCode === 429 || statusCode >= 500) {
      return {
        ok: false,
        retriable: true,
        status: statusCode,
        retryAfterMs: waitFor(response.headers, clock.now()),
        message: `${what}: HTTP ${statusCode}${reasonOf(text)}`,
        body: jsonOrUndefined(text),
      }
    }
    if (statusCode >= 400) return { ok: false, retriable: false, status: statusCode, message: `${what}: HTTP ${statusCode}${reasonOf(text)}`, body: jsonOrUndefined(text) }
    try {
      return { ok: true, value: JSON.parse(text) }
    } catch (error) {
      return { ok: false, retriable: false, status: statusCode, message: `${what}: malformed JSON (${(error as Error).message})`, cause: error }
    }
  }

  return {
    name: options.name,
    limits,
    getJson,
    stats,
    async close() {
      await agent.close()
    },
  }
}

type Attempt =
  | { ok: true; value: unknown }
  | { ok: false; retriable: boolean; status?: number; retryAfterMs?: number; message: string; cause?: unknown; body?: unknown }

const RETRIABLE_ERRORS = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
])

function failure(error: unknown, what: string): Attempt {
  const code = (error as { code?: string }).code ?? ''
  const timeout = /TIMEOUT/.test(code)
  return {
    ok: false,
    retriable: RETRIABLE_ERRORS.has(code),
    message: `${what}: ${timeout ? 'timed out' : redact((error as Error).message || code)}${code && !timeout ? ` (${code})` : ''}`,
    cause: error,
  }
}

/**
 * How long a 429 or 5xx asks us to wait: the longer of Retry-After and x-ratelimit-reset
 * (CoinGecko's: when the window turns, as Unix seconds, seconds from now or a date), undefined
 * when neither is there.
 */
export function waitFor(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | undefined {
  const waits = [retryAfter(headers['retry-after'], now), rateLimitReset(headers['x-ratelimit-reset'], now)].filter((w): w is number => w !== undefined)
  return waits.length ? Math.max(...waits) : undefined
}

/** x-ratelimit-reset: Unix seconds (a number past 2001), seconds from now (a small one), or a date. */
export function rateLimitReset(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim()
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) {
    const n = Number(value)
    return Math.max(0, Math.round(n > 1e9 ? n * 1000 - now : n * 1000))
  }
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000)
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * The provider's own reason from an error body, whole: Polygon's `{ status, error | message }`,
 * CoinGecko's `{ status: { error_code, error_message } }`, `{ error: { status: { … } } }` or
 * `{ error: '…' }`. A body of another shape is shown cut to 160 characters.
 */
export function reasonOf(text: string): string {
  const body = jsonOrUndefined(text) as Record<string, any> | undefined
  const status = body?.status ?? body?.error?.status
  const [code, reason] =
    typeof status === 'object' && status !== null && typeof status.error_message === 'string'
      ? [status.error_code, status.error_message]
      : [typeof body?.status === 'string' && body.status !== 'ERROR' ? body.status : undefined, typeof body?.error === 'string' ? body.error : typeof body?.message === 'string' ? body.message : undefined]
  if (typeof reason !== 'string' || !reason.trim()) return snippet(text)
  const oneLine = redact(reason.replace(/\s+/g, ' ').trim()).slice(0, 1000)
  return `: ${code !== undefined && code !== null ? `${code} ` : ''}${oneLine}`
}

function snippet(text: string): string {
  const oneLine = redact(text.replace(/\s+/g, ' ').trim())
  if (!oneLine) return ''
  return `: ${oneLine.length > 160 ? `${oneLine.slice(0, 159)}…` : oneLine}`
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

/**
 * Spaces request starts at least `intervalMs` apart and keeps at most `concurrency` in flight.
 * Slots are handed out in order, so a burst of callers leaves at a steady rate instead of all
 * at once after each wait.
 */
export class RateGate {
  #nextSlot = 0
  #pausedUntil = 0
  #active = 0
  readonly #waiting: Array<() => void> = []

  constructor(
    readonly intervalMs: number,
    readonly concurrency: number,
    readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  async acquire(): Promise<() => void> {
    if (this.#active >= this.concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    else this.#active++
    const now = this.clock.now()
    const slot = Math.max(now, this.#nextSlot)
    this.#nextSlot = slot + this.intervalMs
    if (slot > now) await this.clock.sleep(slot - now)
    // a 429 that came while this one waited for its slot holds it too
    for (let t = this.clock.now(); t < this.#pausedUntil; t = this.clock.now()) await this.clock.sleep(this.#pausedUntil - t)
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiting.shift()
      if (next) next() // the slot passes on; #active stays the same
      else this.#active--
    }
  }

  /** No request starts before `ms` from now (a 429's Retry-After). */
  pauseFor(ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, this.clock.now() + ms)
    this.#nextSlot = Math.max(this.#nextSlot, this.#pausedUntil)
  }
}
