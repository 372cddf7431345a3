// Reading an edge node's object count from varnishstat.
import { settledVarnishstat } from '../../edge-stats/varnishstat.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'

/** Objects the node holds (MAIN.n_object), once the counter has settled (at most ~3 s). */
export async function objectsHeld(edge: EdgeNode): Promise<number> {
  const value = (await settledVarnishstat(edge.workDir, { fields: ['MAIN.n_object'], watch: ['MAIN.n_object'] }))['MAIN.n_object']
  if (typeof value !== 'number') throw new Error(`varnishstat -n ${edge.workDir} printed no MAIN.n_object`)
  return value
}
