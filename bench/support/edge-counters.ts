// All of an edge node's varnishstat counters at once, and the difference between two readings.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { EdgeNode } from '../../scripts/stack/stack.js'

const exec = promisify(execFile)

export type Counters = Record<string, number>

/** Every counter the node publishes (MAIN.*, VBE.*, ...), by name. */
export async function readCounters(edge: EdgeNode): Promise<Counters> {
  const { stdout } = await exec('varnishstat', ['-n', edge.workDir, '-j'], { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 })
  // varnishstat 7 nests counters under "counters"; older ones list them at the top level.
  const parsed = JSON.parse(stdout) as { counters?: Record<string, { value?: number }> } & Record<string, unknown>
  const source = (parsed.counters ?? parsed) as Record<string, { value?: number } | undefined>
  const out: Counters = {}
  for (const [name, c] of Object.entries(source)) if (c && typeof c === 'object' && typeof c.value === 'number') out[name] = c.value
  return out
}

/**
 * Counters after a pause long enough for worker threads to fold their counts into the shared ones
 * (they do so in batches): reads until MAIN.cache_miss and MAIN.backend_req agree twice in a row (~3 s at most).
 */
export async function settledCounters(edge: EdgeNode): Promise<Counters> {
  let previous = await readCounters(edge)
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 150))
    const current = await readCounters(edge)
    if (['MAIN.cache_hit', 'MAIN.cache_miss', 'MAIN.backend_req'].every((k) => current[k] === previous[k])) return current
    previous = current
  }
  return previous
}

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
