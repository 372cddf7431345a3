// Reading the real edge in tests: HTTP through varnishd, and its counters from varnishstat.
import { settledVarnishstat } from '../../edge-stats/varnishstat.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'

/** Counters as varnishstat reads them once they have settled (a read right after a request can lag). */
export async function counters(edge: EdgeNode, ...names: string[]): Promise<Record<string, number>> {
  const read = await settledVarnishstat(edge.workDir, { fields: names, watch: names, tries: 30 })
  return Object.fromEntries(names.map((n) => [n, read[n] ?? 0]))
}

export interface EdgeResponse {
  status: number
  headers: Headers
  body: string
}

export async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<EdgeResponse> {
  const res = await fetch(base + path, { headers, redirect: 'manual' })
  return { status: res.status, headers: res.headers, body: await res.text() }
}

export async function purgeKeys(edge: EdgeNode, secret: string, keys: string[], mode: 'hard' | 'soft' = 'hard'): Promise<number> {
  const res = await fetch(edge.url + '/', {
    method: 'PURGE',
    headers: { 'x-tessera-purge-secret': secret, 'xkey-purge': keys.join(' '), 'x-tessera-purge-mode': mode },
  })
  if (res.status !== 200) throw new Error(`PURGE answered ${res.status}: ${await res.text()}`)
  return Number(res.headers.get('x-purged-count'))
}
