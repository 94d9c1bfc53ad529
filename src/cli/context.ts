import type { Command } from 'commander'
import { loadConfig, type Config } from '../config.js'
import { EtlContext } from '../engine/context.js'
import { createLogger } from '../log.js'
import { yesterday, type IsoDate } from '../time/calendar.js'

/**
 * Builds the context a command works in and always closes it. Configuration problems surface
 * here, before anything runs (exit 3).
 */
export async function withContext<T>(command: Command, fn: (ctx: EtlContext) => Promise<T>): Promise<T> {
  const globals = command.optsWithGlobals() as { lockTimeout?: number }
  const base = loadConfig()
  const config: Config =
    globals.lockTimeout !== undefined ? Object.freeze({ ...base, lockTimeoutMs: globals.lockTimeout * 1000 }) : base
  const ctx = new EtlContext(config, createLogger({ level: config.logLevel, debug: config.debug, noColor: config.noColor }))
  ctx.command = commandPath(command)
  try {
    return await fn(ctx)
  } finally {
    await ctx.close()
  }
}

export function defaultDate(ctx: EtlContext, date: IsoDate | undefined): IsoDate {
  return date ?? yesterday(ctx.now(), ctx.config.timezone)
}

/** `etl runs show`: the command's names from the program down. */
function commandPath(command: Command): string {
  const names: string[] = []
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.parent ? c.name() : 'etl')
  return names.join(' ')
}
