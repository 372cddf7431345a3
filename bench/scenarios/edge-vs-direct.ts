// Issue 2: what the edge buys. The same article page (a) warm through varnishd as configured by default (page
// tier on: the assembled page is one cached object), (b) assembled per request by bench/direct-assembler.ts
// from the services with no cache. wrk runs against both in alternating order
// (A/B, then B/A, ...), so each round's ratio compares two runs that shared the machine's mood.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { projectRoot } from '../../platform/paths.js'
import type { Scenario } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { round } from '../support/stats.js'
import { runAlternating, sideBySideSettings, sideLine, verifySamePage, warmArticlePage } from '../support/compare.js'

interface Assembler {
  url: string
  stop(): Promise<void>
}

/** Starts bench/direct-assembler.js as a child process (its own event loop) and waits for its port. */
async function startAssembler(stack: BenchStack): Promise<Assembler> {
  const { layout, nav, sidebar, article, sections } = stack.config.ports
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'bench', 'direct-assembler.js'), JSON.stringify({ layout, nav, sidebar, article, sections })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise((r) => child.once('exit', r))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('direct-assembler did not report its port within 10 s')), 10_000)
    child.once('exit', (code) => reject(new Error(`direct-assembler exited with code ${code} before listening`)))
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer)
      resolve((JSON.parse(line) as { port: number }).port)
    })
  })
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    },
  }
}

export const edgeVsDirect: Scenario = {
  name: 'edge-vs-direct',
  description: 'one article page: warm through the edge (varnishd, page tier on as by default) vs assembled by the services with no cache',
  async run() {
    const { seconds, rounds, connections, warmupSeconds } = sideBySideSettings()
    return withBenchStack({ edges: 1, pageTier: true }, async (stack) => {
      const { pagePath, edgeUrl } = await warmArticlePage(stack)
      const assembler = await startAssembler(stack)
      try {
        const page = await verifySamePage({ edge: edgeUrl, direct: assembler.url + pagePath })
        const ab = await runAlternating({ a: ['edge', edgeUrl], b: ['direct', assembler.url + pagePath] }, { rounds, seconds, connections, warmupSeconds })
        const { edge, direct } = ab.sides
        const ratioOfMedians = round(edge.requestsPerSec / direct.requestsPerSec)
        return {
          settings: { seconds, rounds, connections, warmupSeconds, wrkThreads: 1, page: pagePath, pageTier: 'on' },
          figures: { page: { path: pagePath, ...page }, edge, direct, ratio: { ofMedians: ratioOfMedians, medianOfRounds: ab.throughputRatio, p99DirectOverEdge: ab.p99Ratio }, runs: ab.runs },
          summary: [
            `page ${pagePath}: ${page.fragments.length} fragments (${[...new Set(page.fragments)].join(', ')}), same on both${page.identicalBodies ? ', byte-identical' : ''}`,
            sideLine('edge (warm varnishd)', edge),
            sideLine('direct (no cache)', direct),
            `edge/direct throughput: ${ratioOfMedians}x (ratio of medians), ${ab.throughputRatio}x (median of per-round ratios: ${ab.runs.map((r) => r.throughputRatio).join(', ')})`,
            `edge with the page tier on (the default): the warm page is one cached object`,
            `medians of ${rounds} rounds x ${seconds} s, ${connections} connections, wrk -t1, alternating order`,
          ],
        }
      } finally {
        await assembler.stop()
      }
    })
  },
}
