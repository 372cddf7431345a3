// Issue 6.2: the architecture Tessera replaces. The same article page (a) warm through the edge as configured
// by default (page tier on: the assembled page is one cached object), (b) rendered from Redis on every request
// by bench/monolith.ts, one Node process with no cache (the real shell template and fragment renders, includes
// inlined). wrk runs both, alternating order; ratios per round, medians.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { projectRoot } from '../../platform/paths.js'
import type { Scenario } from '../support/scenario.js'
import { withBenchStack } from '../support/stack.js'
import { runAlternating, sideBySideSettings, sideLine, verifySamePage, warmArticlePage } from '../support/compare.js'

/** Starts bench/monolith.js as a child process (its own event loop) and waits for its port. */
async function startMonolith(redisUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'bench', 'monolith.js'), redisUrl], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((r) => child.once('exit', r))
  const stop = async () => {
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(killer)
  }
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('monolith did not report its port within 10 s')), 10_000)
    child.once('exit', (code) => reject(new Error(`monolith exited with code ${code} before listening`)))
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer)
      resolve((JSON.parse(line) as { port: number }).port)
    })
  }).catch(async (err: Error) => {
    await stop()
    throw err
  })
  return { url: `http://127.0.0.1:${port}`, stop }
}

export const monolithVsEdge: Scenario = {
  name: 'monolith-vs-edge',
  description: 'one article page: warm through the edge (page tier on, as by default) vs rendered from Redis on every request by one Node process with no cache (bench/monolith.ts)',
  async run() {
    const { seconds, rounds, connections, warmupSeconds } = sideBySideSettings()
    return withBenchStack({ edges: 1, pageTier: true }, async (stack) => {
      const { pagePath, edgeUrl } = await warmArticlePage(stack)
      const monolith = await startMonolith(stack.redisUrl)
      try {
        const monolithUrl = monolith.url + pagePath
        const { fragments, identicalBodies } = await verifySamePage({ edge: edgeUrl, monolith: monolithUrl })

        const ab = await runAlternating({ a: ['edge', edgeUrl], b: ['monolith', monolithUrl] }, { rounds, seconds, connections, warmupSeconds })
        const { edge, monolith: mono } = ab.sides
        return {
          settings: { seconds, rounds, connections, warmupSeconds, wrkThreads: 1, page: pagePath, pageTier: 'on' },
          figures: {
            page: { path: pagePath, fragments, identicalBodies },
            edge,
            monolith: mono,
            ratio: { edgeOverMonolithThroughput: ab.throughputRatio, monolithOverEdgeP99: ab.p99Ratio },
            runs: ab.runs,
          },
          summary: [
            `page ${pagePath}: fragments ${fragments.join(', ')}, same on both${identicalBodies ? ', byte-identical' : ''}`,
            sideLine('edge (warm varnishd):', edge),
            sideLine('monolith (no cache):', mono),
            `edge/monolith throughput: ${ab.throughputRatio}x, monolith/edge p99: ${ab.p99Ratio}x (per round: ${ab.runs.map((r) => r.throughputRatio).join(', ')})`,
            `edge with the page tier on (the default): the warm page is one cached object`,
            `medians of ${rounds} rounds x ${seconds} s, ${connections} connections, wrk -t1, alternating order`,
          ],
        }
      } finally {
        await monolith.stop()
      }
    })
  },
}
