import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Equal, compared in constant time: equal-length digests, so timingSafeEqual neither throws nor leaks a length. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1]
}

/** The header presents this bearer token (compared whether or not the header is well formed). */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = bearerOf(header)
  return sameSecret(presented ?? '', token) && presented !== undefined
}
