import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { packageRoot } from '../../paths.js'

/**
 * uPlot (the charting library) inlined into every page from node_modules at render time: the
 * report must open with no network, and the live pages then need no route for assets. Read once.
 */
let cached: { js: string; css: string } | undefined

export function uplotAssets(): { js: string; css: string } {
  if (cached) return cached
  const dist = path.dirname(createRequire(path.join(packageRoot, 'package.json')).resolve('uplot'))
  const js = fs.readFileSync(path.join(dist, 'uPlot.iife.min.js'), 'utf8')
  const css = fs.readFileSync(path.join(dist, 'uPlot.min.css'), 'utf8')
  // inside a <script> element, a literal "</script" would end it
  cached = { js: js.replace(/<\/script/gi, '<\\/script'), css: css.replace(/<\/style/gi, '<\\/style') }
  return cached
}
