// Issue 2: what the edge buys. The same article page (a) warm through varnishd, (b) assembled per request
// by bench/direct-assembler.ts from the services with no cache. wrk runs against both in alternating order
// (A/B, then B/A, ...), so each round's ratio compares two runs that shared the machine's mood.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { projectRoot } from '../../fragments/kit/paths.js'
import { eventsSettled } from '../../test/support/wait.js'
import { fetchPage, fragmentsOf } from '../support/compare.js'
import { contentApi, publishedArticles } from '../support/content.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { median, round } from '../support/stats.js'
import { runWrk, type WrkResult } from '../support/wrk.js'

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

/** Both ways must produce the same page: every include resolved, the same fragments, 200. */
async function verifySamePage(edgeUrl: string, directUrl: string): Promise<{ fragments: string[]; identicalBodies: boolean }> {
  const [edge, direct] = await Promise.all([fetchPage(edgeUrl), fetchPage(directUrl)])
  for (const [name, page] of [['edge', edge], ['direct', direct]] as const) {
    if (page.status !== 200) throw new Error(`${name} answered ${page.status} for ${edgeUrl}`)
    if (page.body.includes('<esi:')) throw new Error(`${name} page still contains an <esi: tag`)
  }
  const fragments = fragmentsOf(edge.body)
  if (fragments.length === 0 || fragments.join() !== fragmentsOf(direct.body).join()) {
    throw new Error(`the pages differ: edge has fragments [${fragments}], direct has [${fragmentsOf(direct.body)}]`)
  }
  return { fragments, identicalBodies: edge.body === direct.body }
}

const summarise = (runs: WrkResult[]) => ({
  requestsPerSec: round(median(runs.map((r) => r.requestsPerSec))),
  p50Ms: round(median(runs.map((r) => r.latencyMs.p50))),
  p99Ms: round(median(runs.map((r) => r.latencyMs.p99))),
  errors: runs.reduce((sum, r) => sum + r.errors, 0),
})

export const edgeVsDirect: Scenario = {
  name: 'edge-vs-direct',
  description: 'one article page: warm through the edge (varnishd) vs assembled by the services with no cache',
  async run() {
    const seconds = envInt('BENCH_SECONDS', 5)
    const rounds = envInt('BENCH_ROUNDS', 3)
    const connections = envInt('BENCH_CONNECTIONS', 32)
    const warmupSeconds = envInt('BENCH_WARMUP_SECONDS', 2)
    return withBenchStack({ edges: 1 }, async (stack) => {
      await eventsSettled(stack.redisUrl) // the seed's purges must not land on the warmed page
      const [article] = await publishedArticles(contentApi(stack))
      const pagePath = `/articles/${article.slug}`
      const assembler = await startAssembler(stack)
      try {
        const targets = { edge: stack.edges[0].url + pagePath, direct: assembler.url + pagePath }
        for (let i = 0; i < 3; i++) await fetchPage(targets.edge)
        const probe = await fetchPage(targets.edge, { 'x-tessera-debug': stack.secrets.debugToken })
        if (probe.headers.get('x-tessera-cache') !== 'hit') throw new Error(`${targets.edge} is not a cache hit after warming`)
        const page = await verifySamePage(targets.edge, targets.direct)

        // Unrecorded warm-up of both paths: JIT, connection pools, Redis, varnishd threads.
        for (const url of [targets.edge, targets.direct]) await runWrk({ url, connections, seconds: warmupSeconds })

        const runs: Array<{ round: number; order: string; edge: WrkResult; direct: WrkResult; ratio: number }> = []
        for (let r = 0; r < rounds; r++) {
          const order = r % 2 === 0 ? (['edge', 'direct'] as const) : (['direct', 'edge'] as const)
          const result = {} as Record<'edge' | 'direct', WrkResult>
          for (const target of order) {
            result[target] = await runWrk({ url: targets[target], connections, seconds })
            await sleep(500)
          }
          runs.push({ round: r + 1, order: order.join('/'), ...result, ratio: round(result.edge.requestsPerSec / result.direct.requestsPerSec) })
        }
        const edge = summarise(runs.map((r) => r.edge))
        const direct = summarise(runs.map((r) => r.direct))
        const ratioOfMedians = round(edge.requestsPerSec / direct.requestsPerSec)
        const medianPairedRatio = round(median(runs.map((r) => r.ratio)))
        return {
          settings: { seconds, rounds, connections, warmupSeconds, wrkThreads: 1, page: pagePath },
          figures: { page: { path: pagePath, ...page }, edge, direct, ratio: { ofMedians: ratioOfMedians, medianOfRounds: medianPairedRatio }, runs },
          summary: [
            `page ${pagePath}: ${page.fragments.length} fragments (${[...new Set(page.fragments)].join(', ')}), same on both${page.identicalBodies ? ', byte-identical' : ''}`,
            `edge (warm varnishd):   ${edge.requestsPerSec} req/s  p50 ${edge.p50Ms} ms  p99 ${edge.p99Ms} ms  errors ${edge.errors}`,
            `direct (no cache):      ${direct.requestsPerSec} req/s  p50 ${direct.p50Ms} ms  p99 ${direct.p99Ms} ms  errors ${direct.errors}`,
            `edge/direct throughput: ${ratioOfMedians}x (ratio of medians), ${medianPairedRatio}x (median of per-round ratios: ${runs.map((r) => r.ratio).join(', ')})`,
            `medians of ${rounds} rounds x ${seconds} s, ${connections} connections, wrk -t1, alternating order`,
          ],
        }
      } finally {
        await assembler.stop()
      }
    })
  },
}
