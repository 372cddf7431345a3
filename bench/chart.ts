// Writes bench/results/latency.svg: p50 and p99 bars for every latency figure in bench/results/*.json (any
// object with numeric p50Ms/p99Ms, p50/p99 or xP50Ms/xP99Ms; per-round lists are skipped). Plain SVG text,
// no dependency.
// run.ts calls it after every run; on its own: `node dist/bench/chart.js`.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { projectRoot } from '../platform/paths.js'

interface Bar {
  label: string
  p50: number
  p99: number
}

const SKIP = new Set(['runs', 'roundsMs', 'rounds'])
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** Every latency pair under `value`, labelled by its path (array items by their phase/name/node). */
function latencies(value: unknown, label: string, out: Bar[]): Bar[] {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const named = item && typeof item === 'object' ? ((item as Record<string, unknown>).phase ?? (item as Record<string, unknown>).name ?? (item as Record<string, unknown>).node) : undefined
      latencies(item, `${label} ${typeof named === 'string' ? named : i + 1}`, out)
    })
  } else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>
    const p50 = isNum(o.p50Ms) ? o.p50Ms : o.p50
    const p99 = isNum(o.p99Ms) ? o.p99Ms : o.p99
    if (isNum(p50) && isNum(p99)) out.push({ label, p50, p99 })
    // Prefixed pairs in one object: readerP50Ms / readerP99Ms.
    for (const [k, v] of Object.entries(o)) {
      const prefix = /^(\w+)P50Ms$/.exec(k)?.[1]
      const v99 = prefix ? o[`${prefix}P99Ms`] : undefined
      if (prefix && isNum(v) && isNum(v99)) out.push({ label: `${label} ${prefix}`, p50: v, p99: v99 })
    }
    for (const [k, v] of Object.entries(o)) if (!SKIP.has(k)) latencies(v, `${label} ${k === 'result' || k === 'latencyMs' ? '' : k}`.replace(/\s+/g, ' ').trim(), out)
  }
  return out
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export function renderChart(bars: Bar[]): string {
  const rowH = 34
  const left = 440
  const width = 1000
  const plotW = width - left - 80
  const top = 40
  const height = top + bars.length * rowH + 40
  // Log scale: the figures span from ~1 ms (warm edge) to seconds (cold page).
  const max = Math.max(10, ...bars.map((b) => b.p99))
  const min = 0.1
  const x = (v: number) => (Math.log10(Math.max(min, v)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min)) * plotW
  const ticks = [0.1, 1, 10, 100, 1000, 10000].filter((t) => t <= max * 1.01)
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="Arial,sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Latency per scenario (ms, log scale): p50 dark, p99 light</text>`,
  ]
  for (const t of ticks) {
    parts.push(`<line x1="${left + x(t)}" y1="${top - 5}" x2="${left + x(t)}" y2="${height - 30}" stroke="#ddd"/>`)
    parts.push(`<text x="${left + x(t)}" y="${height - 15}" text-anchor="middle" fill="#666">${t}</text>`)
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH
    parts.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${escape(b.label)}</text>`)
    parts.push(`<rect x="${left}" y="${y + 4}" width="${x(b.p99).toFixed(1)}" height="22" fill="#f2b8a8"/>`)
    parts.push(`<rect x="${left}" y="${y + 9}" width="${x(b.p50).toFixed(1)}" height="12" fill="#9b2c1f"/>`)
    parts.push(`<text x="${left + x(b.p99) + 4}" y="${y + 19}" fill="#333">${b.p50} / ${b.p99}</text>`)
  })
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}

/** Reads every result file and writes the chart; returns its path. */
export function writeLatencyChart(resultsDir = path.join(projectRoot, 'bench', 'results')): string {
  const bars: Bar[] = []
  for (const file of readdirSync(resultsDir).filter((f) => f.endsWith('.json')).sort()) {
    const result = JSON.parse(readFileSync(path.join(resultsDir, file), 'utf8')) as { scenario?: string; figures?: unknown }
    latencies(result.figures, result.scenario ?? path.basename(file, '.json'), bars)
  }
  const out = path.join(resultsDir, 'latency.svg')
  writeFileSync(out, renderChart(bars))
  return out
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(`${writeLatencyChart()}\n`)
