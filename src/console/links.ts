/**
 * Where a page links to: paths under /console on `etl serve`, anchors in the one-file report.
 * The pages take a Links and never build a URL themselves.
 */
export interface Links {
  readonly mode: 'live' | 'report'
  partitions(): string
  runs(): string
  run(id: string): string
  job(name: string, partition?: string): string
  lineage(): string
  health(): string
}

/** An element id for a job's section in the report: names are untrusted, ids must be plain. */
export const jobAnchor = (name: string) => `job-${encodeURIComponent(name).replace(/%/g, '_')}`

export const liveLinks: Links = {
  mode: 'live',
  partitions: () => '/console/partitions',
  runs: () => '/console/runs',
  run: (id) => `/console/runs#run-${encodeURIComponent(id)}`,
  job: (name, partition) => `/console/jobs/${encodeURIComponent(name)}${partition ? `?partition=${partition}` : ''}`,
  lineage: () => '/console/lineage',
  health: () => '/console/health',
}

export const reportLinks: Links = {
  mode: 'report',
  partitions: () => '#partitions',
  runs: () => '#runs',
  run: (id) => `#run-${encodeURIComponent(id)}`,
  job: (name) => `#${jobAnchor(name)}`,
  lineage: () => '#lineage',
  health: () => '#health',
}
