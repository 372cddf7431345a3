// Reading pages from the page tier (varnish/tier.vcl) in tests: what the debug headers say a read was, and
// warming pages until each is a page-tier hit that will not expire in the middle of a subtest.
import type { EdgeNode, Stack } from '../../scripts/stack/stack.js'
import { counters, type EdgeResponse, get } from './edge.js'
import { metrics, series } from './metrics.js'
import { until } from './wait.js'

/** What the debug headers say about a page or a fragment at the edge. */
export interface Seen {
  url: string
  node: string
  status: number
  tier: string | null
  cache: string | null
  /** Page tier: when the assembly started (epoch seconds). */
  assembledAt: number
  /** Fragments: when the origin rendered it (epoch ms). */
  renderedAt: number
  ttlLeft: number
  keys: string[]
  body: string
  /** Client clock (epoch ms) when the request was sent and when the answer had arrived. */
  sent: number
  received: number
}

/** One read of `url` at `edge`, with `headers` (the debug token, for the debug headers). */
export async function readSeen(edge: EdgeNode, url: string, headers: Record<string, string>): Promise<Seen> {
  const sent = Date.now()
  const res: EdgeResponse = await get(edge.url, url, headers)
  const h = (name: string) => res.headers.get(name)
  return {
    url,
    node: edge.name,
    status: res.status,
    tier: h('x-tessera-tier'),
    cache: h('x-tessera-cache'),
    assembledAt: Number(h('x-tessera-assembled-at')),
    renderedAt: Date.parse(h('x-tessera-rendered-at') ?? ''),
    ttlLeft: Number(h('x-tessera-ttl-left')),
    keys: (h('xkey') ?? '').split(/[ ,]+/).filter(Boolean),
    body: res.body,
    sent,
    received: Date.now(),
  }
}

export const describeSeen = (s: Seen) => `${s.node} ${s.url}: ${s.status} tier=${s.tier} cache=${s.cache} assembled-at=${s.assembledAt} ttl-left=${s.ttlLeft}`

/**
 * Reads each URL on each node until it is a page-tier hit with at least `marginS` seconds of TTL left, and
 * returns what each looked like then. (The seed schedules an editor block two minutes ahead, so every page
 * assembled before then expires at that moment by itself: a page about to expire is waited out and warmed
 * again, so that it cannot turn into a miss in the middle of a subtest.)
 */
export async function warmPageTier(edges: EdgeNode[], urls: string[], headers: Record<string, string>, marginS = 20): Promise<Map<string, Seen>> {
  const warmed = new Map<string, Seen>()
  for (const edge of edges) {
    for (const url of urls) {
      warmed.set(`${edge.name} ${url}`, await until(`${edge.name} ${url} to be a page-tier hit with ${marginS} s left`, async () => {
        const seen = await readSeen(edge, url, headers)
        if (seen.status !== 200 || seen.tier !== 'page') throw new Error(`not a page-tier page: ${describeSeen(seen)}`)
        if (seen.cache === 'hit' && seen.ttlLeft >= marginS) return seen
        if (seen.cache === 'hit') await new Promise((r) => setTimeout(r, seen.ttlLeft * 1000 + 300))
        return undefined
      }, (marginS + 15) * 1000))
    }
  }
  return warmed
}

/** Origin fetches so far: varnishstat's requests per backend on each node, and every service's renders. */
export async function originFetchesOf(stack: Stack): Promise<{ vbe: Array<Record<string, number>>; renders: Record<string, number> }> {
  const backends = ['nav', 'sidebar', 'article', 'sections', 'layout', 'pages'].map((b) => `VBE.boot.tessera_${b}.req`)
  const vbe = await Promise.all(stack.edges.map((edge) => counters(edge, ...backends)))
  const renders: Record<string, number> = {}
  for (const service of ['layout', 'nav', 'sidebar', 'article', 'sections'] as const) {
    for (const s of series(await metrics(`http://127.0.0.1:${stack.config.ports[service]}`), 'tessera_renders_total')) {
      const name = s.labels.fragment.startsWith('layout:') ? 'layout' : s.labels.fragment
      renders[name] = (renders[name] ?? 0) + s.value
    }
  }
  return { vbe, renders }
}

export const diffCounts = (after: Record<string, number>, before: Record<string, number>) => Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]))
