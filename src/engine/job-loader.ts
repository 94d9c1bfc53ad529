import { register } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { packageRoot } from '../paths.js'

/**
 * Module hooks for job files outside the package (ETL_JOBS_PATH):
 * - `import … from 'nightshift'` resolves to this package, wherever the file lives. Node looks
 *   for bare names in node_modules above the importing file, and a folder of job files has none.
 * - `.ts` files are read with their types stripped by esbuild: the bundled CLI runs on plain
 *   Node 20, which cannot do that by itself.
 * Registered only when such files exist: the hooks run on a thread of their own, a cost a cron
 * tick with only built-in jobs should not pay.
 */
export function registerJobLoader(): void {
  // a data: module resolves no bare names, so both are handed over by absolute URL
  const esbuild = import.meta.resolve('esbuild')
  const self = pathToFileURL(path.join(packageRoot, 'dist/index.js')).href
  const hooks = `
    import { readFile } from 'node:fs/promises'
    export async function resolve(specifier, context, next) {
      if (specifier === 'nightshift') return { url: ${JSON.stringify(self)}, format: 'module', shortCircuit: true }
      return next(specifier, context)
    }
    export async function load(url, context, next) {
      if (!url.startsWith('file:') || !/\\.m?ts$/.test(new URL(url).pathname)) return next(url, context)
      const { transform } = await import(${JSON.stringify(esbuild)})
      const source = await readFile(new URL(url), 'utf8')
      const { code } = await transform(source, { loader: 'ts', format: 'esm', sourcefile: url, target: 'node20' })
      return { format: 'module', source: code, shortCircuit: true }
    }`
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, import.meta.url)
}
