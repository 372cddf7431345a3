// Reading an edge node's object count from varnishstat.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { EdgeNode } from '../../scripts/stack/stack.js'

const exec = promisify(execFile)

async function readObjects(edge: EdgeNode): Promise<number> {
  const { stdout } = await exec('varnishstat', ['-n', edge.workDir, '-j', '-f', 'MAIN.n_object'], { timeout: 10_000 })
  // varnishstat 7 nests counters under "counters"; older ones list them at the top level.
  const parsed = JSON.parse(stdout) as { counters?: Record<string, { value: number }> } & Record<string, { value: number }>
  const value = (parsed.counters ?? parsed)['MAIN.n_object']?.value
  if (typeof value !== 'number') throw new Error(`varnishstat -n ${edge.workDir} printed no MAIN.n_object`)
  return value
}

/**
 * Objects the node holds (MAIN.n_object), once the counter has settled: worker threads fold their counts
 * into the shared ones in batches, so reads until two in a row agree (at most ~3 s).
 */
export async function objectsHeld(edge: EdgeNode): Promise<number> {
  let previous = await readObjects(edge)
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 150))
    const current = await readObjects(edge)
    if (current === previous) return current
    previous = current
  }
  return previous
}
