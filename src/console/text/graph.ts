import type { LineageGraph } from '../model/lineage.js'

/** `etl jobs --graph`: the lineage graph as Mermaid (for a Markdown page) or Graphviz DOT text. */
export function graphText(graph: LineageGraph, format: 'mermaid' | 'dot'): string {
  const ids = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]))
  if (format === 'mermaid') {
    const quote = (s: string) => `"${s.replace(/"/g, '#quot;')}"`
    const nodes = graph.nodes.map((n) => `  ${ids.get(n.id)}${n.kind === 'job' ? `(${quote(n.label)})` : `[${quote(n.label)}]`}`)
    const edges = graph.edges.map((e) => `  ${ids.get(e.from)} --> ${ids.get(e.to)}`)
    return ['flowchart LR', ...nodes, ...edges].join('\n')
  }
  const quote = (s: string) => JSON.stringify(s)
  const nodes = graph.nodes.map((n) => `  ${ids.get(n.id)} [label=${quote(n.label)}, shape=${n.kind === 'job' ? 'box, style=rounded' : 'cylinder'}];`)
  const edges = graph.edges.map((e) => `  ${ids.get(e.from)} -> ${ids.get(e.to)};`)
  return ['digraph nightshift {', '  rankdir=LR;', ...nodes, ...edges, '}'].join('\n')
}
