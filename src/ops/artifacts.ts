import fs from 'node:fs'
import path from 'node:path'
import type { RegisteredJob } from '../engine/job.js'
import { DEFAULT_HOME, DEFAULT_LOG_DIR, renderCrontab } from './crontab.js'
import { DEFAULT_IMAGE, GENERATED_MARK, k8sManifests, renderManifestFiles } from './k8s.js'
import { planSchedule } from './schedule.js'

/**
 * The scheduling files of a repository (`crontab.example`, `k8s/`), as `etl schedule --write`
 * writes them and the drift test compares them: from the given jobs, for UTC, with the default
 * paths and image, so they do not depend on whoever regenerates them.
 */
export interface Artifacts {
  readonly crontab: string
  readonly k8s: ReadonlyArray<{ file: string; text: string }>
}

export function checkedInArtifacts(jobs: readonly RegisteredJob[]): Artifacts {
  const timezone = 'UTC'
  const plan = planSchedule(jobs, { timezone })
  return {
    crontab: renderCrontab(plan, { home: DEFAULT_HOME, logDir: DEFAULT_LOG_DIR, timezone }),
    k8s: renderManifestFiles(k8sManifests(plan, { image: DEFAULT_IMAGE, timezone })),
  }
}

/** Generated YAML files below a folder (those starting with the mark), as relative paths; hand-written ones are left alone. */
export function generatedFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => /\.ya?ml$/.test(f) && fs.readFileSync(path.join(dir, f), 'utf8').startsWith(GENERATED_MARK))
    .sort()
}

/** Writes the manifests into a folder and removes generated files no schedule produces any more. */
export function writeManifests(dir: string, files: ReadonlyArray<{ file: string; text: string }>): void {
  fs.mkdirSync(dir, { recursive: true })
  const keep = new Set(files.map((f) => f.file))
  for (const stale of generatedFiles(dir).filter((f) => !keep.has(f))) fs.rmSync(path.join(dir, stale))
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f.file)), { recursive: true })
    fs.writeFileSync(path.join(dir, f.file), f.text)
  }
}

/** What differs between the files on disk and the artifacts: empty when in step. */
export function artifactDrift(root: string, artifacts: Artifacts): string[] {
  const problems: string[] = []
  const crontab = path.join(root, 'crontab.example')
  if (!fs.existsSync(crontab)) problems.push('crontab.example is missing')
  else if (fs.readFileSync(crontab, 'utf8') !== artifacts.crontab) problems.push('crontab.example differs')
  const dir = path.join(root, 'k8s')
  const wanted = new Map(artifacts.k8s.map((f) => [f.file, f.text]))
  for (const [file, text] of wanted) {
    const full = path.join(dir, file)
    if (!fs.existsSync(full)) problems.push(`k8s/${file} is missing`)
    else if (fs.readFileSync(full, 'utf8') !== text) problems.push(`k8s/${file} differs`)
  }
  for (const file of generatedFiles(dir)) if (!wanted.has(file)) problems.push(`k8s/${file} is no longer generated`)
  return problems
}
