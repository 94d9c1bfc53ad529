import fs from 'node:fs'
import path from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import { root } from './cli.js'

/**
 * Debian's chromium driven by playwright-core: never a downloaded browser. `.ci/run` installs
 * the package when /usr/bin/chromium is missing. One browser per test file (two cores).
 */
export const CHROMIUM = '/usr/bin/chromium'
export const hasChromium = () => fs.existsSync(CHROMIUM)

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
}

/** Where tests leave screenshots (ignored by git). */
export function artifact(name: string): string {
  const dir = path.join(root, 'test/artifacts')
  fs.mkdirSync(dir, { recursive: true })
  return path.join(dir, name)
}
