// Small inline SVG bar charts for the ops view: one bar per fragment, drawn on the server (no script needed).
import { hbs } from '../../platform/html.js'

export interface Bar {
  label: string
  /** null: no figure yet (drawn as "no data"). */
  value: number | null
  text: string
}

const ROW = 18
const LABEL = 110
const WIDTH = 320

/** Bars scaled to `max` (or to the largest value); the label and the figure are written beside each bar. */
export function barChart(title: string, bars: Bar[], max?: number): string {
  const top = Math.max(max ?? 0, ...bars.map((b) => b.value ?? 0), 1e-9)
  const height = bars.length * ROW + 4
  const esc = (s: string) => hbs.escapeExpression(s)
  const rows = bars.map((b, i) => {
    const y = i * ROW + 2
    const w = b.value === null ? 0 : Math.max(1, Math.round(((WIDTH - LABEL - 70) * b.value) / top))
    return `<text x="0" y="${y + 12}">${esc(b.label)}</text>` +
      `<rect x="${LABEL}" y="${y + 2}" width="${w}" height="12" rx="2"></rect>` +
      `<text x="${LABEL + w + 4}" y="${y + 12}" class="figure">${esc(b.value === null ? 'no data' : b.text)}</text>`
  })
  return `<svg class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}">${rows.join('')}</svg>`
}
