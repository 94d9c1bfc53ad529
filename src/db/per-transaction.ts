import type pg from 'pg'

/**
 * What a connection needs set (search_path, read-only, statement_timeout) lives in each
 * transaction, never in the session: behind a transaction-pooling proxy (PgBouncer) every
 * transaction may get another server connection, so a session setting would be lost — or leak
 * into another client — and a startup `options` parameter is refused or dropped. After each
 * `begin` the settings follow as `set local`; a statement outside a transaction runs in one of
 * its own that carries them.
 *
 * @example
 * pool.on('connect', (client) => pinToTransactions(client, ['set local transaction_read_only = on']))
 */
export function pinToTransactions(client: pg.ClientBase, settings: readonly string[], explain: (error: unknown) => void = () => {}): void {
  if (settings.length === 0) return
  const script = settings.join('; ')
  const original = client.query.bind(client) as (...args: unknown[]) => any
  // the server's own word on whether a transaction is open, from each ReadyForQuery
  let status = 'I'
  // commits queued behind COPY streams that have not completed yet
  let closing = 0
  ;(client as unknown as { connection: NodeJS.EventEmitter }).connection.on('readyForQuery', (msg: { status?: string }) => {
    status = msg.status ?? status
  })

  const patched = (config: unknown, values?: unknown, callback?: unknown): unknown => {
    if (typeof values === 'function') [callback, values] = [values, undefined]
    const text = typeof config === 'string' ? config : (config as { text?: unknown } | null)?.text
    const cb = callback as ((err: Error | null, result?: unknown) => void) | undefined
    // a COPY's commit queued ahead of this statement ends that transaction before it runs
    const idle = status === 'I' || closing > 0
    if (typeof text !== 'string' || !idle || TX_END.test(text)) return settleOwn(original, config, values, cb, explain)
    if (TX_START.test(text)) {
      return settle(
        (original(config, values) as Promise<unknown>).then(async (result) => {
          await original(script)
          return result
        }),
        cb,
      )
    }
    if (typeof (config as { submit?: unknown }).submit === 'function') {
      // COPY streams are returned at once; begin and settings are queued ahead of them
      const begun = (original(`begin; ${script}`) as Promise<unknown>).catch(() => {})
      const stream = original(config) as NodeJS.EventEmitter
      let closed = false
      const close = (how: string) => {
        if (closed) return
        closed = true
        closing++
        // queued now, behind the COPY, ahead of whatever the caller sends next
        const ended = (original(how) as Promise<unknown>).catch(() => {})
        void Promise.all([begun, ended]).then(() => closing--)
      }
      stream.once('end', () => close('commit'))
      stream.once('finish', () => close('commit'))
      stream.once('error', (error) => {
        explain(error)
        close('rollback')
      })
      return stream
    }
    return settle(
      (async () => {
        await original(`begin; ${script}`)
        try {
          const result = await original(config, values)
          await original('commit')
          return result
        } catch (error) {
          await (original('rollback') as Promise<unknown>).catch(() => {})
          explain(error)
          throw error
        }
      })(),
      cb,
    )
  }
  ;(client as unknown as { query: unknown }).query = patched
}

const TX_START = /^\s*(begin|start\s+transaction)\b/i
// `rollback to savepoint` stays inside the transaction
const TX_END = /^\s*(commit|end|abort|rollback(?!\s+(transaction\s+|work\s+)?to\b))\b/i

/** A statement inside a transaction, as it is; its error explained. */
function settleOwn(
  original: (...args: unknown[]) => any,
  config: unknown,
  values: unknown,
  callback: ((err: Error | null, result?: unknown) => void) | undefined,
  explain: (error: unknown) => void,
): unknown {
  if (typeof (config as { submit?: unknown } | null)?.submit === 'function') {
    const stream = original(config, values, callback) as NodeJS.EventEmitter
    stream.once('error', explain)
    return stream
  }
  return settle(
    (original(config, values) as Promise<unknown>).catch((error: unknown) => {
      explain(error)
      throw error
    }),
    callback,
  )
}

function settle(promise: Promise<unknown>, callback: ((err: Error | null, result?: unknown) => void) | undefined): unknown {
  if (!callback) return promise
  promise.then(
    (result) => callback(null, result),
    (error: Error) => callback(error),
  )
  return undefined
}
