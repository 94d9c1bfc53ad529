import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { z } from 'zod'
import { EtlError } from '../errors.js'
import { KINDS } from '../kinds/index.js'
import { builtinJobsDir, packageRoot, runningFromDist } from '../paths.js'
import type { JobDefinition, RegisteredJob } from './job.js'
import { fieldPath, JobCommonSchema } from './job-schema.js'

const JOB_FILE = /\.(m?js|m?ts)$/
const NOT_A_JOB = /(\.d\.ts|\.test\.[mc]?[jt]s|\.map)$/

/**
 * A job file that could not be loaded, or a job that cannot run because of one (its dependency is
 * broken, missing or in a cycle). `name` is the job it would define: its file name when the file
 * itself could not be read.
 */
export interface BrokenJob {
  readonly name: string
  readonly file: string
  readonly error: EtlError
}

/**
 * Every job, validated, in dependency order, and the broken ones beside them: one bad file must
 * not stop every cron entry, so a command fails on a broken job only when it selects it.
 *
 * The bundle's own jobs, which the build loaded and found whole (scripts/build.mjs), are
 * validated when first asked for: `get` validates the job and its dependencies only, so a cron
 * tick pays for the one job it runs; `jobs` and `broken` validate them all.
 */
export class JobRegistry {
  #all: Registered | undefined
  #bundled: readonly Bundled[] = []
  #prevalidated = false
  readonly #validated = new Map<string, RegisteredJob | EtlError>()
  readonly #runnable = new Set<string>()

  constructor(jobs: RegisteredJob[], broken: readonly BrokenJob[] = []) {
    this.#all = registered(jobs, broken)
  }

  /** The bundle's own jobs alone, as (file, default export) pairs the build has found whole. */
  static ofBundled(entries: readonly Bundled[]): JobRegistry {
    const registry = new JobRegistry([])
    registry.#all = undefined
    registry.#bundled = entries
    registry.#prevalidated = true
    return registry
  }

  /** True when every job is one the build found whole: `broken` is empty, and looking costs validating them all. */
  get prevalidated(): boolean {
    return this.#prevalidated
  }

  get jobs(): readonly RegisteredJob[] {
    return this.#registered().jobs
  }

  get broken(): readonly BrokenJob[] {
    return this.#registered().broken
  }

  get(name: string): RegisteredJob {
    const quick = this.#quick(name, new Set())
    if (quick) return quick
    const { byName, broken } = this.#registered()
    const job = byName.get(name)
    if (!job) {
      const b = broken.find((x) => x.name === name)
      if (b) throw b.error
      throw new EtlError('UNKNOWN_JOB', `no job named '${name}'; 'etl jobs' lists them`)
    }
    return job
  }

  has(name: string): boolean {
    return this.#registered().byName.has(name)
  }

  /** The named jobs (each must exist) or, without names, those `etl run` includes; in dependency order. */
  select(names?: readonly string[], filter: (job: RegisteredJob) => boolean = (j) => j.pipeline): RegisteredJob[] {
    if (!names || names.length === 0) return this.jobs.filter(filter)
    const wanted = new Set(names.map((n) => this.get(n).name))
    return this.jobs.filter((j) => wanted.has(j.name))
  }

  #registered(): Registered {
    if (!this.#all) {
      const { jobs, broken } = validateLoaded(this.#bundled, (entry) => this.#validate(entry))
      this.#all = registered(jobs, broken)
    }
    return this.#all
  }

  #validate(entry: Bundled): RegisteredJob | EtlError {
    let result = this.#validated.get(entry.file)
    if (!result) {
      result = validateOrError(entry)
      this.#validated.set(entry.file, result)
    }
    return result
  }

  /**
   * A bundled job and its dependencies, validated alone, when that settles it: one file with that
   * name, valid, whose dependencies are so too, with no cycle. Anything less is left to the whole
   * registry, which gives the same answer and the same error as it always has.
   */
  #quick(name: string, path: Set<string>): RegisteredJob | undefined {
    if (this.#all) return this.#all.byName.get(name)
    if (path.has(name)) return undefined
    const matches = this.#bundled.filter((e) => declaredName(e) === name || jobNameOf(e.file) === name)
    if (matches.length !== 1) return undefined
    const job = this.#validate(matches[0]!)
    if (job instanceof EtlError || job.name !== name) return undefined
    if (!this.#runnable.has(name)) {
      path.add(name)
      const whole = job.dependsOn.every((dep) => this.#quick(dep, path) !== undefined)
      path.delete(name)
      if (!whole) return undefined
      this.#runnable.add(name)
    }
    return job
  }
}

interface Bundled {
  readonly file: string
  readonly exported: unknown
}

/** A job file's default export, or why it could not be loaded. */
type Loaded = Bundled | { readonly file: string; readonly error: EtlError }

interface Registered {
  readonly jobs: readonly RegisteredJob[]
  readonly broken: readonly BrokenJob[]
  readonly byName: Map<string, RegisteredJob>
}

/** The name a job file gives itself before it is validated: its `name` field, else its file's. */
function declaredName(entry: Bundled): string {
  const name = (entry.exported as { name?: unknown } | null)?.name
  return typeof name === 'string' ? name : jobNameOf(entry.file)
}

function registered(jobs: RegisteredJob[], broken: readonly BrokenJob[]): Registered {
  const { ordered, broken: unrunnable } = sortRunnable(jobs, broken)
  return { jobs: ordered, broken: [...broken, ...unrunnable], byName: new Map(ordered.map((j) => [j.name, j])) }
}

/** Validates loaded job files in order: the first file to define a name keeps it. */
function validateLoaded(
  entries: readonly Loaded[],
  validate: (entry: Bundled) => RegisteredJob | EtlError = validateOrError,
): { jobs: RegisteredJob[]; broken: BrokenJob[] } {
  const jobs: RegisteredJob[] = []
  const broken: BrokenJob[] = []
  const seen = new Map<string, string>()
  for (const entry of entries) {
    const { file } = entry
    let job = 'error' in entry ? entry.error : validate(entry)
    if (!(job instanceof EtlError)) {
      const other = seen.get(job.name)
      if (!other) {
        seen.set(job.name, file)
        jobs.push(job)
        continue
      }
      job = new EtlError('BAD_JOB_FILE', `${file}: job '${job.name}' is already defined in ${other}`)
    }
    broken.push({ name: jobNameOf(file), file, error: job })
  }
  return { jobs, broken }
}

function validateOrError(entry: Bundled): RegisteredJob | EtlError {
  try {
    return validateJob(entry.exported, entry.file)
  } catch (error) {
    if (!(error instanceof EtlError)) throw error
    return error
  }
}

/** Job files below a folder, in a stable order. */
function listJobFiles(dir: string): string[] {
  const files: string[] = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) files.push(...listJobFiles(full))
    else if (JOB_FILE.test(entry.name) && !NOT_A_JOB.test(entry.name) && !entry.name.startsWith('_')) files.push(full)
  }
  return files
}

/** A folder of ETL_JOBS_PATH that is not there is the environment's fault (exit 3), not an empty list. */
function checkFolder(dir: string): void {
  let stat: fs.Stats
  try {
    stat = fs.statSync(dir)
  } catch {
    throw new EtlError('CONFIG', `ETL_JOBS_PATH: the folder ${dir} does not exist`)
  }
  if (!stat.isDirectory()) throw new EtlError('CONFIG', `ETL_JOBS_PATH: ${dir} is not a folder`)
}

/**
 * Loads the job files of the given folders. The first folder is the package's own and the rest
 * are ETL_JOBS_PATH's, where job files may `import … from 'nightshift'`. A bad file is a
 * BAD_JOB_FILE (exit 2) naming the file and the field, kept in `broken` with the jobs it takes
 * down with it (a name defined twice, an unknown dependency, a cycle).
 */
export async function loadRegistry(dirs: readonly string[]): Promise<JobRegistry> {
  dirs.slice(1).forEach(checkFolder)
  const { BUNDLED_JOBS } = await import('./builtin-jobs.js')
  const bundled = BUNDLED_JOBS && dirs[0] === builtinJobsDir ? BUNDLED_JOBS : undefined
  const files = (bundled ? dirs.slice(1) : dirs).flatMap((dir) => (fs.existsSync(dir) ? listJobFiles(dir) : []))
  const entries: { file: string; load: () => Promise<unknown> }[] = [
    ...(bundled ?? []).map(([file, exported]) => ({ file: path.join(packageRoot, file), load: async () => exported })),
    ...files.map((file) => ({ file, load: () => importJob(file) })),
  ]
  const userFiles = files.some((f) => !f.startsWith(dirs[0]! + path.sep))
  // run from the TypeScript sources (vitest, tsx), the loader in place already reads .ts and resolves 'nightshift'
  if ((userFiles || files.some((f) => /\.m?ts$/.test(f))) && runningFromDist) {
    const { registerJobLoader } = await import('./job-loader.js')
    registerJobLoader()
  }
  // the bundle's own jobs alone: the build found them whole, each is validated when asked for
  if (bundled && files.length === 0) return JobRegistry.ofBundled(bundled.map(([file, exported]) => ({ file: path.join(packageRoot, file), exported })))
  const loaded: Loaded[] = []
  for (const { file, load } of entries) {
    try {
      loaded.push({ file, exported: await load() })
    } catch (error) {
      if (!(error instanceof EtlError)) throw error
      loaded.push({ file, error })
    }
  }
  const { jobs, broken } = validateLoaded(loaded)
  return new JobRegistry(jobs, broken)
}

const jobNameOf = (file: string) => path.basename(file).replace(JOB_FILE, '')

async function importJob(file: string): Promise<unknown> {
  let mod: { default?: unknown }
  try {
    mod = await import(pathToFileURL(file).href)
  } catch (error) {
    throw await loadProblem(file, error)
  }
  if (mod.default === undefined) throw new EtlError('BAD_JOB_FILE', `${file}: has no default export describing the job`)
  return mod.default
}

/**
 * Why a file could not be imported. Node's message for a syntax error carries no position, so
 * the file is parsed again with esbuild, which names the line and column.
 */
async function loadProblem(file: string, error: unknown): Promise<EtlError> {
  const message = (error as Error)?.message ?? String(error)
  const at = await syntaxErrorAt(file)
  if (at) return new EtlError('BAD_JOB_FILE', `${file}:${at.line}:${at.column}: syntax error: ${at.text}`, { cause: error })
  return new EtlError('BAD_JOB_FILE', `${file}: cannot be loaded: ${message.split('\n')[0]}`, { cause: error })
}

async function syntaxErrorAt(file: string): Promise<{ line: number; column: number; text: string } | undefined> {
  const { transform } = await import('esbuild')
  try {
    await transform(fs.readFileSync(file, 'utf8'), { loader: /\.m?ts$/.test(file) ? 'ts' : 'js', format: 'esm', logLevel: 'silent' })
    return undefined
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { line: number; column: number } }[] }).errors?.[0]
    // esbuild's columns count from 0, editors' from 1
    return first?.location ? { line: first.location.line, column: first.location.column + 1, text: first.text } : undefined
  }
}

/**
 * The fields a job file may have: the common ones and its kind's. Anything else is a typo that
 * would otherwise be ignored while a default applies in its place.
 */
function unknownField(exported: object, kindSchema: z.ZodType): string | undefined {
  const known = new Set([...Object.keys(JobCommonSchema.shape), ...Object.keys(shapeOf(kindSchema))])
  return Object.keys(exported).find((key) => !known.has(key))
}

function shapeOf(schema: z.ZodType): Record<string, unknown> {
  const s = schema as unknown as { shape?: Record<string, unknown>; def?: { in?: z.ZodType } }
  return s.shape ?? (s.def?.in ? shapeOf(s.def.in) : {})
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
  const unknown = unknownField(exported, handler.schema)
  if (unknown) {
    const known = [...Object.keys(JobCommonSchema.shape), ...Object.keys(shapeOf(handler.schema))]
    const near = closest(unknown, known)
    throw new EtlError('BAD_JOB_FILE', `${file}: unknown field '${unknown}'${near ? `; did you mean '${near}'?` : ` (a ${common.data.kind} job has: ${known.join(', ')})`}`)
  }
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

/** The jobs in dependency order; the first that cannot run (see `sortRunnable`) is thrown. */
export function orderByDependencies(jobs: RegisteredJob[]): RegisteredJob[] {
  const { ordered, broken } = sortRunnable(jobs)
  if (broken[0]) throw broken[0].error
  return ordered
}

/**
 * Kahn's algorithm, ties broken by file order, so the order is stable between runs. A job whose
 * dependency is broken or missing, or that sits in a cycle, cannot run: it is returned as broken.
 */
export function sortRunnable(
  jobs: RegisteredJob[],
  alreadyBroken: readonly BrokenJob[] = [],
): { ordered: RegisteredJob[]; broken: BrokenJob[] } {
  const broken: BrokenJob[] = []
  const brokenFile = new Map(alreadyBroken.map((b) => [b.name, b.file]))
  const names = new Set(jobs.map((j) => j.name))
  // a dependency on a broken job breaks its dependents, and theirs, until nothing changes
  let runnable = jobs
  for (let changed = true; changed; ) {
    changed = false
    const next: RegisteredJob[] = []
    for (const job of runnable) {
      const dep = job.dependsOn.find((d) => !names.has(d) || brokenFile.has(d))
      if (dep === undefined) {
        next.push(job)
        continue
      }
      const why = brokenFile.has(dep) ? `depends on '${dep}', which cannot be loaded (${brokenFile.get(dep)})` : `field 'dependsOn' names '${dep}', which is not a job`
      broken.push({ name: job.name, file: job.file, error: new EtlError('BAD_JOB_FILE', `${job.file}: ${why}`) })
      brokenFile.set(job.name, job.file)
      changed = true
    }
    runnable = next
  }
  const remaining = new Map(runnable.map((j) => [j.name, new Set(j.dependsOn)]))
  const ordered: RegisteredJob[] = []
  while (remaining.size > 0) {
    const ready = runnable.filter((j) => remaining.has(j.name) && remaining.get(j.name)!.size === 0)
    if (ready.length === 0) {
      const cycle = new EtlError('JOB_CYCLE', `jobs depend on each other in a cycle: ${[...remaining.keys()].sort().join(', ')}`)
      for (const job of runnable.filter((j) => remaining.has(j.name))) broken.push({ name: job.name, file: job.file, error: cycle })
      break
    }
    for (const job of ready) {
      ordered.push(job)
      remaining.delete(job.name)
      for (const deps of remaining.values()) deps.delete(job.name)
    }
  }
  return { ordered, broken }
}

/** The known name a typo most likely meant: at most a third of its letters apart. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined
  for (const name of candidates) {
    const distance = editDistance(word.toLowerCase(), name.toLowerCase())
    if (distance <= Math.max(1, Math.floor(name.length / 3)) && (!best || distance < best.distance)) best = { name, distance }
  }
  return best?.name
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const swap = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? previous[j - 2]! : Infinity
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1), swap)
    }
    previous = current
  }
  return previous[b.length]!
}
