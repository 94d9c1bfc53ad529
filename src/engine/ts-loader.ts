import { register } from 'node:module'

/**
 * Lets `import()` read TypeScript job files from ETL_JOBS_PATH: a module hook that strips types
 * with esbuild. The bundled CLI runs on plain Node 20, which cannot do that by itself.
 */
export function registerTypeScriptLoader(): void {
  // a data: module resolves no bare names, so esbuild is handed over by absolute URL
  const esbuild = import.meta.resolve('esbuild')
  const hooks = `
    import { readFile } from 'node:fs/promises'
    import { transform } from '${esbuild}'
    export async function load(url, context, next) {
      if (!/\\.m?ts$/.test(new URL(url).pathname)) return next(url, context)
      const source = await readFile(new URL(url), 'utf8')
      const { code } = await transform(source, { loader: 'ts', format: 'esm', sourcefile: url, target: 'node20' })
      return { format: 'module', source: code, shortCircuit: true }
    }`
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, import.meta.url)
}
