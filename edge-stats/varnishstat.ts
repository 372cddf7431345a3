// An edge node's counters from `varnishstat -n <work dir> -j`: the one reader the stats API, the tests and the
// benchmarks share.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)
const SETTLE_INTERVAL_MS = 150

/** Counter values by name (MAIN.cache_hit, VBE.<vcl>.tessera_nav.req, ...). */
export type Counters = Record<string, number>

/** The node's counters: all of them, or those the varnishstat `-f` patterns name. */
export async function readVarnishstat(workDir: string, fields: string[] = [], timeoutMs = 10_000): Promise<Counters> {
  const { stdout } = await exec('varnishstat', ['-n', workDir, '-j', ...fields.flatMap((f) => ['-f', f])], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 })
  // varnishstat 7 nests counters under "counters"; older ones list them at the top level.
  const parsed = JSON.parse(stdout) as { counters?: Record<string, unknown> } & Record<string, unknown>
  const source = (parsed.counters ?? parsed) as Record<string, { value?: unknown } | undefined>
  const out: Counters = {}
  for (const [name, counter] of Object.entries(source)) if (counter && typeof counter === 'object' && typeof counter.value === 'number') out[name] = counter.value
  return out
}

/**
 * The counters once they have settled: worker threads fold their counts into the shared ones in batches, so a
 * read right after traffic can lag. Reads every 150 ms until the `watch` counters agree twice in a row (at most
 * `tries` more reads; then the last one).
 */
export async function settledVarnishstat(workDir: string, options: { watch: string[]; fields?: string[]; tries?: number }): Promise<Counters> {
  const { watch, fields = [], tries = 20 } = options
  let previous = await readVarnishstat(workDir, fields)
  for (let i = 0; i < tries; i++) {
    await new Promise((r) => setTimeout(r, SETTLE_INTERVAL_MS))
    const current = await readVarnishstat(workDir, fields)
    if (watch.every((name) => current[name] === previous[name])) return current
    previous = current
  }
  return previous
}
