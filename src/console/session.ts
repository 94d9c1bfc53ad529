import { randomBytes } from 'node:crypto'
import type http from 'node:http'
import { sameSecret } from '../ops/tokens.js'

/**
 * The console's login sessions on `etl serve`: the admin token is typed once into a form; the
 * server answers with a random session id in an HttpOnly, SameSite=Strict cookie (scripts cannot
 * read it, other sites cannot send it) and keeps, per session, a CSRF token that every POST form
 * carries. Sessions live in memory: a restart logs everyone out, which is fine for one admin.
 */
export const COOKIE = 'ns_console'
const TTL_MS = 12 * 3_600_000

interface Session {
  readonly csrf: string
  readonly expires: number
}


export class Sessions {
  readonly #sessions = new Map<string, Session>()

  create(now = Date.now()): { id: string; csrf: string } {
    for (const [id, s] of this.#sessions) if (s.expires <= now) this.#sessions.delete(id)
    const id = randomBytes(32).toString('base64url')
    const csrf = randomBytes(32).toString('base64url')
    this.#sessions.set(id, { csrf, expires: now + TTL_MS })
    return { id, csrf }
  }

  /** The session the request's cookie names, if it is live. */
  of(req: http.IncomingMessage, now = Date.now()): { id: string; csrf: string } | undefined {
    const id = cookieOf(req, COOKIE)
    if (!id) return undefined
    const s = this.#sessions.get(id)
    if (!s || s.expires <= now) return undefined
    return { id, csrf: s.csrf }
  }

  end(id: string): void {
    this.#sessions.delete(id)
  }
}

export function cookieOf(req: http.IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === name) return v.join('=')
  }
  return undefined
}

export const sessionCookie = (id: string) => `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/console; Max-Age=${TTL_MS / 1000}`
export const clearedCookie = () => `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/console; Max-Age=0`

/**
 * A state-changing request is ours when its form carries the session's CSRF token and, when the
 * browser says where it comes from (Origin), that is this server.
 */
export function csrfOk(req: http.IncomingMessage, session: { csrf: string }, form: URLSearchParams): boolean {
  const origin = req.headers.origin
  if (origin && origin !== 'null' && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`) return false
  return sameSecret(form.get('csrf') ?? '', session.csrf)
}
