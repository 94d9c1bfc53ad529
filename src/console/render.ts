import { reportLinks } from './links.js'
import type { ConsoleModel } from './model/load.js'
import { healthPage } from './pages/health.js'
import { jobPage } from './pages/job.js'
import { renderDocument, type NavId, type PageEnv, type Section } from './pages/layout.js'
import { lineagePage } from './pages/lineage.js'
import { partitionsPage } from './pages/partitions.js'
import { runsPage } from './pages/runs.js'

/**
 * The console's pages as documents: one per live page, or all in one file for `etl report`
 * (every job's page included, shown one at a time by its #anchor, no network needed).
 */
export type PageName = NavId | 'job'

export function renderPage(model: ConsoleModel, env: PageEnv, page: PageName, options: { job?: string; partition?: string; nonce?: string; filter?: { job?: string; kind?: string } } = {}): string {
  let section: Section
  if (page === 'job') {
    const view = model.jobs.find((v) => v.job.name === options.job)
    if (!view) throw new Error(`no job ${options.job}`)
    section = jobPage(model, view, env, options.partition)
  } else {
    section = pageSection(model, env, page, options.filter)
  }
  return renderDocument({ title: section.title, sections: [section], env, generatedAt: model.generatedAt, nonce: options.nonce, active: section.nav })
}

function pageSection(model: ConsoleModel, env: PageEnv, page: NavId, filter?: { job?: string; kind?: string }): Section {
  switch (page) {
    case 'partitions':
      return partitionsPage(model, env, filter)
    case 'runs':
      return runsPage(model, env)
    case 'lineage':
      return lineagePage(model, env)
    case 'health':
      return healthPage(model, env)
  }
}

export function renderReport(model: ConsoleModel): string {
  const env: PageEnv = { links: reportLinks }
  const sections = [
    partitionsPage(model, env),
    runsPage(model, env),
    lineagePage(model, env),
    healthPage(model, env),
    ...model.jobs.map((view) => jobPage(model, view, env)),
  ]
  return renderDocument({ title: `run console ${model.range.from} to ${model.range.to}`, sections, env, generatedAt: model.generatedAt, active: 'partitions' })
}
