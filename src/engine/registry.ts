import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { z } from 'zod'
import { EtlError } from '../errors.js'
import { KINDS } from '../kinds/index.js'
import type { JobDefinition, RegisteredJob } from './job.js'
import { fieldPath, JobCommonSchema } from './job-schema.js'

const JOB_FILE = /\.(m?js|m?ts)$/
const NOT_A_JOB = /(\.d\.ts|\.test\.[mc]?[jt]s|\.map)$/

/** Every job, validated, in dependency order. */
export class JobRegistry {
  readonly jobs: readonly RegisteredJob[]
  readonly #byName: Map<string, RegisteredJob>

  constructor(jobs: RegisteredJob[]) {
    this.jobs = orderByDependencies(jobs)
    this.#byName = new Map(this.jobs.map((j) => [j.name, j]))
  }

  get(name: string): RegisteredJob {
    const job = this.#byName.get(name)
    if (!job) {
      throw new EtlError('UNKNOWN_JOB', `no job named '${name}'; 'etl jobs' lists them`)
    }
    return job
  }

  has(name: string): boolean {
    return this.#byName.has(name)
  }

  /** The named jobs (each must exist) or, without names, those `etl run` includes; in dependency order. */
  select(names?: readonly string[], filter: (job: RegisteredJob) => boolean = (j) => j.pipeline): RegisteredJob[] {
    if (!names || names.length === 0) return this.jobs.filter(filter)
    const wanted = new Set(names.map((n) => this.get(n).name))
    return this.jobs.filter((j) => wanted.has(j.name))
  }
}

/** Job files below a folder, in a stable order. */
function listJobFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  const files: string[] = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) files.push(...listJobFiles(full))
    else if (JOB_FILE.test(entry.name) && !NOT_A_JOB.test(entry.name) && !entry.name.startsWith('_')) files.push(full)
  }
  return files
}

/**
 * Loads the job files of the given folders. A bad file is BAD_JOB_FILE (exit 2) naming the file
 * and the field; a job name defined twice, an unknown dependency or a cycle too.
 */
export async function loadRegistry(dirs: readonly string[]): Promise<JobRegistry> {
  const files = dirs.flatMap(listJobFiles)
  if (files.some((f) => /\.m?ts$/.test(f)) && !process.env.VITEST) {
    const { registerTypeScriptLoader } = await import('./ts-loader.js')
    registerTypeScriptLoader()
  }
  const jobs: RegisteredJob[] = []
  const seen = new Map<string, string>()
  for (const file of files) {
    const job = validateJob(await importJob(file), file)
    const other = seen.get(job.name)
    if (other) throw new EtlError('BAD_JOB_FILE', `${file}: job '${job.name}' is already defined in ${other}`)
    seen.set(job.name, file)
    jobs.push(job)
  }
  return new JobRegistry(jobs)
}

async function importJob(file: string): Promise<unknown> {
  let mod: { default?: unknown }
  try {
    mod = await import(pathToFileURL(file).href)
  } catch (error) {
    throw new EtlError('BAD_JOB_FILE', `${file}: cannot be loaded: ${(error as Error).message}`, { cause: error })
  }
  if (mod.default === undefined) throw new EtlError('BAD_JOB_FILE', `${file}: has no default export describing the job`)
  return mod.default
}

function zodProblem(file: string, error: z.ZodError): EtlError {
  const issue = error.issues[0]!
  const field = fieldPath(issue.path)
  return new EtlError('BAD_JOB_FILE', `${file}: ${field ? `field '${field}' ` : ''}${issue.message}`)
}

export function validateJob(exported: unknown, file: string): RegisteredJob {
  if (typeof exported !== 'object' || exported === null) {
    throw new EtlError('BAD_JOB_FILE', `${file}: the default export must be an object describing the job`)
  }
  const common = JobCommonSchema.safeParse(exported)
  if (!common.success) throw zodProblem(file, common.error)
  const handler = KINDS[common.data.kind]
  const own = handler.schema.safeParse(exported)
  if (!own.success) throw zodProblem(file, own.error)
  const definition = exported as JobDefinition
  const base = path.basename(file).replace(JOB_FILE, '')
  const name = common.data.name ?? base
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) {
    throw new EtlError('BAD_JOB_FILE', `${file}: the file name '${base}' is not a job name; add a name field`)
  }
  const partition = common.data.partition ?? handler.defaultPartition
  return Object.freeze({
    name,
    kind: common.data.kind,
    file,
    partition,
    pipeline: common.data.pipeline ?? (handler.inPipeline && (partition === 'day' || partition === 'none')),
    schedule: common.data.schedule,
    timezone: common.data.timezone ?? 'UTC',
    dependsOn: Object.freeze([...(common.data.dependsOn ?? [])]),
    description: common.data.description,
    deadline: common.data.deadline,
    definition: Object.freeze(definition),
  })
}

/** Kahn's algorithm, ties broken by file order, so the order is stable between runs. */
export function orderByDependencies(jobs: RegisteredJob[]): RegisteredJob[] {
  const byName = new Map(jobs.map((j) => [j.name, j]))
  for (const job of jobs) {
    for (const dep of job.dependsOn) {
      if (!byName.has(dep)) throw new EtlError('BAD_JOB_FILE', `${job.file}: field 'dependsOn' names '${dep}', which is not a job`)
    }
  }
  const remaining = new Map(jobs.map((j) => [j.name, new Set(j.dependsOn)]))
  const ordered: RegisteredJob[] = []
  while (remaining.size > 0) {
    const ready = jobs.filter((j) => remaining.has(j.name) && remaining.get(j.name)!.size === 0)
    if (ready.length === 0) {
      throw new EtlError('JOB_CYCLE', `jobs depend on each other in a cycle: ${[...remaining.keys()].sort().join(', ')}`)
    }
    for (const job of ready) {
      ordered.push(job)
      remaining.delete(job.name)
      for (const deps of remaining.values()) deps.delete(job.name)
    }
  }
  return ordered
}
