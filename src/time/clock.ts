/**
 * The clock of one process. `ETL_NOW` (an ISO 8601 instant) makes it start at that instant and
 * run on from there, so a test or a rehearsal can be "on 2026-12-02" and still see time pass
 * (ledger rows keep their order).
 *
 * @example clockFrom(new Date('2026-12-02T08:00:00Z'))() // 2026-12-02T08:00:00.0xxZ
 */
export function clockFrom(start: Date | undefined): () => Date {
  if (!start) return () => new Date()
  const offset = start.getTime() - Date.now()
  return () => new Date(Date.now() + offset)
}
