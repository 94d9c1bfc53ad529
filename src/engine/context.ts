import type { Config } from '../config.js'
import { Connections } from '../db/connect.js'
import type { Logger } from '../log.js'
import { builtinJobsDir } from '../paths.js'
import { clockFrom } from '../time/clock.js'
import { loadRegistry, type JobRegistry } from './registry.js'
import { newInvocationId, type RunEnv } from './runner.js'

/**
 * What one command or one library call works with: configuration, its connections and the job
 * registry, all opened on first use and released together by `close`.
 */
export class EtlContext {
  readonly connections: Connections
  #registry: Promise<JobRegistry> | undefined

  /** The CLI command this context serves (`etl run`), recorded with each run; none for library use. */
  command: string | undefined

  constructor(
    readonly config: Config,
    readonly log: Logger,
    readonly now: () => Date = clockFrom(config.clockStart),
  ) {
    this.connections = new Connections(config, log)
  }

  /**
   * The jobs, loaded on first use. Broken job files are warned about once, by name, unless the
   * caller reports them itself (`etl jobs`, `etl check`): the rest of the jobs still run.
   */
  registry(options: { warnBroken?: boolean } = {}): Promise<JobRegistry> {
    this.#registry ??= loadRegistry([builtinJobsDir, ...this.config.jobsPaths]).then((registry) => {
      // the bundle's own jobs alone were found whole by the build: looking would validate them all
      if (options.warnBroken !== false && !registry.prevalidated) {
        for (const b of registry.broken) this.log.warn({ job: b.name, file: b.file }, `job '${b.name}' is left out: ${b.error.message}`)
      }
      return registry
    })
    return this.#registry
  }

  /** The environment runs share: the migrated warehouse, the source on demand, one invocation id. */
  async runEnv(): Promise<RunEnv> {
    const warehouse = await this.connections.warehouse()
    return {
      config: this.config,
      log: this.log,
      warehouse,
      source: () => this.connections.source(),
      invocationId: newInvocationId(),
      command: this.command,
      now: this.now,
    }
  }

  async close(): Promise<void> {
    await this.connections.close()
  }
}
