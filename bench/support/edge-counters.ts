// All of an edge node's varnishstat counters at once, and the difference between two readings.
import { type Counters, readVarnishstat, settledVarnishstat } from '../../edge-stats/varnishstat.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'

export type { Counters }

/** Every counter the node publishes (MAIN.*, VBE.*, ...), by name. */
export const readCounters = (edge: EdgeNode): Promise<Counters> => readVarnishstat(edge.workDir)

/** Counters once MAIN.cache_hit, MAIN.cache_miss and MAIN.backend_req have settled (~3 s at most). */
export const settledCounters = (edge: EdgeNode): Promise<Counters> => settledVarnishstat(edge.workDir, { watch: ['MAIN.cache_hit', 'MAIN.cache_miss', 'MAIN.backend_req'] })

export function delta(before: Counters, after: Counters): Counters {
  const out: Counters = {}
  for (const [name, value] of Object.entries(after)) out[name] = value - (before[name] ?? 0)
  return out
}

/** Backend fetches per origin service: VBE.<vcl>.tessera_<name>.req deltas, summed over VCL generations. */
export function backendFetches(d: Counters): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [name, value] of Object.entries(d)) {
    const m = /^VBE\.[^.]+\.tessera_([a-z0-9_]+)\.req$/.exec(name)
    if (m) out[m[1]] = (out[m[1]] ?? 0) + value
  }
  return out
}
