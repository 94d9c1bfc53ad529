import { sql } from 'kysely'
import { countRows, type StorageBackend } from './backend.js'

/**
 * A TimescaleDB hypertable (docs: show_chunks, drop_chunks): TimescaleDB makes chunks on insert,
 * aligned on the Unix epoch, so `ensure` makes none. `show_chunks` with an `older_than` lists
 * exactly what `drop_chunks` with the same one drops (chunks whose range ends at or before it),
 * so their rows are counted first; drop_chunks itself returns only the chunks' names. The cut-off
 * must have the time column's own type (TimescaleDB: "invalid time argument type" otherwise).
 * Not run here: TimescaleDB is not installed in CI; test/helpers/storage.ts stands in for it.
 */
export const timescale: StorageBackend = {
  mode: 'timescaledb',

  async ensure() {
    return []
  },

  async expired(db, table, _column, _type, cutoff) {
    const { rows } = await sql<{ chunk: string }>`
      select c::text as chunk from show_chunks(${table}::regclass, older_than => ${cutoff}) c`.execute(db)
    const names = rows.map((r) => r.chunk)
    return { names, rows: await countRows(db, names) }
  },

  async drop(db, table, column, type, cutoff) {
    const { names, rows } = await this.expired(db, table, column, type, cutoff)
    if (names.length === 0) return { partitions: 0, rows: 0 }
    const { rows: dropped } = await sql<{ chunk: string }>`
      select c::text as chunk from drop_chunks(${table}::regclass, older_than => ${cutoff}) c`.execute(db)
    return { partitions: dropped.length, rows }
  },
}
