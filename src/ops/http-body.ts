import type http from 'node:http'

/** The largest request body `etl serve` reads: its bodies are a date, a form or a metric definition. */
export const MAX_BODY = 64 * 1024

/** An answer with an HTTP status and one line for the caller. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** The body as text, refused past `limit` bytes (413 unless the caller says how) before it is all buffered. */
export async function readBodyText(
  req: http.IncomingMessage,
  limit = MAX_BODY,
  tooLarge: (limit: number) => Error = (n) => new HttpError(413, `the body is larger than ${n} bytes`),
): Promise<string> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) throw tooLarge(limit)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** The body as a JSON object; an empty body is undefined. `shape` ends the 400 lines ("send …"). */
export async function readJsonObject(req: http.IncomingMessage, shape = ''): Promise<Record<string, unknown> | undefined> {
  const text = (await readBodyText(req)).trim()
  if (text === '') return undefined
  const hint = shape ? `; send ${shape}` : ''
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new HttpError(400, `the body is not JSON${hint}`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, `the body must be a JSON object${hint}`)
  return body as Record<string, unknown>
}
