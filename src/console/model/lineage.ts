import type { RegisteredJob } from '../../engine/job.js'

/**
 * The Lineage graph: jobs and the tables they read and write (a job file's `source` and
 * `target`), and `dependsOn` where no table links two jobs. Laid out in columns by the longest
 * path from a node without inputs, so everything flows left to right.
 */
export type Freshness = 'fresh' | 'behind' | 'failed' | 'never'

export interface LineageNode {
  readonly id: string
  readonly kind: 'job' | 'table' | 'source'
  readonly label: string
  /** The job's name for a job node, the writer's for a table. */
  readonly job?: string
  readonly freshness: Freshness | 'external'
  readonly column: number
  readonly row: number
}

export interface LineageGraph {
  readonly nodes: readonly LineageNode[]
  readonly edges: ReadonlyArray<{ from: string; to: string }>
  readonly columns: number
  readonly rows: number
}

/** The tables a job file names: `source` (a table name or `{ table }`) and `target`. */
export function tablesOf(job: RegisteredJob): { sources: string[]; target: string | null } {
  const def = job.definition as { source?: unknown; target?: unknown }
  const source = typeof def.source === 'string' ? def.source : (def.source as { table?: unknown } | undefined)?.table
  return { sources: typeof source === 'string' ? [source] : [], target: typeof def.target === 'string' ? def.target : null }
}

export function buildLineage(jobs: readonly RegisteredJob[], freshness: ReadonlyMap<string, Freshness>): LineageGraph {
  const nodes = new Map<string, Omit<LineageNode, 'column' | 'row'>>()
  const edges: Array<{ from: string; to: string }> = []
  const writers = new Map<string, string>()
  for (const job of jobs) {
    const { target } = tablesOf(job)
    if (target) writers.set(target, job.name)
  }
  for (const job of jobs) {
    const id = `job:${job.name}`
    nodes.set(id, { id, kind: 'job', label: job.name, job: job.name, freshness: freshness.get(job.name) ?? 'never' })
    const { sources, target } = tablesOf(job)
    for (const s of sources) {
      const writer = writers.get(s)
      const sid = writer ? `table:${s}` : `source:${s}`
      if (!nodes.has(sid)) nodes.set(sid, { id: sid, kind: writer ? 'table' : 'source', label: s, freshness: 'external' })
      edges.push({ from: sid, to: id })
    }
    if (target) {
      const tid = `table:${target}`
      nodes.set(tid, { id: tid, kind: 'table', label: target, job: job.name, freshness: freshness.get(job.name) ?? 'never' })
      edges.push({ from: id, to: tid })
    }
  }
  // dependsOn where the upstream's table does not already lead to the job
  for (const job of jobs) {
    for (const dep of job.dependsOn) {
      if (!nodes.has(`job:${dep}`)) continue
      const via = tablesOf(jobs.find((j) => j.name === dep)!).target
      if (via && edges.some((e) => e.from === `table:${via}` && e.to === `job:${job.name}`)) continue
      edges.push({ from: via ? `table:${via}` : `job:${dep}`, to: `job:${job.name}` })
    }
  }
  const column = new Map<string, number>()
  const depth = (id: string, seen: Set<string>): number => {
    if (column.has(id)) return column.get(id)!
    if (seen.has(id)) return 0 // a cycle: the registry refuses them, but never loop
    seen.add(id)
    const inputs = edges.filter((e) => e.to === id).map((e) => depth(e.from, seen) + 1)
    const d = Math.max(0, ...inputs)
    column.set(id, d)
    return d
  }
  for (const id of nodes.keys()) depth(id, new Set())
  // a node without inputs (a source table, a job reading none) sits just left of its first reader
  for (const id of nodes.keys()) {
    if (edges.some((e) => e.to === id)) continue
    const readers = edges.filter((e) => e.from === id).map((e) => column.get(e.to)!)
    if (readers.length) column.set(id, Math.max(0, Math.min(...readers) - 1))
  }
  // rows: sweeps by the mean row of a node's neighbours in the column before (then after), so
  // edges cross less; ties by name, so the layout is stable
  const columns = Math.max(0, ...column.values()) + 1
  const inColumn = (c: number) => [...nodes.values()].filter((n) => column.get(n.id) === c)
  const row = new Map<string, number>()
  inColumn(0).sort((a, b) => a.label.localeCompare(b.label)).forEach((n, i) => row.set(n.id, i))
  const place = (c: number, neighbours: (id: string) => string[]) => {
    const here = inColumn(c)
    const weight = new Map(
      here.map((n) => {
        const rows = neighbours(n.id).filter((id) => row.has(id)).map((id) => row.get(id)!)
        return [n.id, rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : (row.get(n.id) ?? Number.MAX_SAFE_INTEGER)]
      }),
    )
    here.sort((a, b) => weight.get(a.id)! - weight.get(b.id)! || a.label.localeCompare(b.label)).forEach((n, i) => row.set(n.id, i))
  }
  const inputsOf = (id: string) => edges.filter((e) => e.to === id).map((e) => e.from)
  const outputsOf = (id: string) => edges.filter((e) => e.from === id).map((e) => e.to)
  for (let c = 1; c < columns; c++) place(c, inputsOf)
  for (let c = columns - 2; c >= 0; c--) place(c, outputsOf)
  for (let c = 1; c < columns; c++) place(c, inputsOf)
  const rows = Math.max(0, ...Array.from({ length: columns }, (_, c) => inColumn(c).length))
  const laid: LineageNode[] = [...nodes.values()].map((n) => ({ ...n, column: column.get(n.id)!, row: row.get(n.id)! }))
  return { nodes: laid, edges, columns, rows }
}
