// Issue 6.1: what ESI assembly costs at the edge. (a) one static object of exactly the bytes of an assembled
// article page, cached by a second varnishd (same malloc storage, same params, a 3-line VCL) in front of a
// tiny node:http origin; (b) the assembled page (shell + every fragment) warm in Tessera's own varnishd, with
// the page tier off (TESSERA_PAGE_TIER=off): every request is an ESI assembly, which is what this measures
// (page-tier.ts measures the tier). wrk runs both at the same connection count, in alternating order, several
// rounds; the ratio is per round.
import type { Scenario } from '../support/scenario.js'
import { withBenchStack } from '../support/stack.js'
import { startStaticEdge } from '../support/static-edge.js'
import { fetchPage, fragmentsOf, runAlternating, sideBySideSettings, sideLine, warmArticlePage } from '../support/compare.js'

export const edgeCeiling: Scenario = {
  name: 'edge-ceiling',
  description:
    'ESI assembly cost: one static object of the same bytes as an assembled article page (on a second varnishd with the same storage and params, 3-line VCL) vs the assembled page warm in Tessera\'s varnishd, page tier off (ESI on every request)',
  async run() {
    const { seconds, rounds, connections, warmupSeconds } = sideBySideSettings()
    return withBenchStack({ edges: 1, pageTier: false }, async (stack) => {
      const { pagePath, edgeUrl: assembledUrl } = await warmArticlePage(stack)
      const assembled = await fetchPage(assembledUrl)
      if (assembled.status !== 200 || assembled.body.includes('<esi:')) throw new Error(`${assembledUrl}: status ${assembled.status}, or an <esi: tag left`)

      const staticEdge = await startStaticEdge(stack.edges[0], { pagePath, body: assembled.body })
      try {
        const staticUrl = staticEdge.url
        const warm = await fetchPage(staticUrl)
        if (warm.body !== assembled.body) throw new Error('the static object is not byte-identical to the assembled page')
        const bytes = Buffer.byteLength(assembled.body)

        const ab = await runAlternating({ a: ['static', staticUrl], b: ['assembled', assembledUrl] }, { rounds, seconds, connections, warmupSeconds })
        const { static: stat, assembled: page } = ab.sides
        return {
          settings: { seconds, rounds, connections, warmupSeconds, wrkThreads: 1, page: pagePath, storageMb: stack.config.edge.storageMb, pageTier: 'off' },
          figures: {
            page: { path: pagePath, bytes, fragments: fragmentsOf(assembled.body), includes: fragmentsOf(assembled.body).length },
            static: stat,
            assembled: page,
            ratio: { staticOverAssembledThroughput: ab.throughputRatio, assembledOverStaticP99: ab.p99Ratio },
            runs: ab.runs,
          },
          summary: [
            `page ${pagePath}: ${bytes} bytes, ${fragmentsOf(assembled.body).length} includes; (a) runs on a second varnishd with the same storage (${stack.config.edge.storageMb} MB malloc) and params`,
            sideLine('(a) static object:', stat),
            sideLine('(b) assembled (ESI):', page),
            `static/assembled throughput: ${ab.throughputRatio}x, assembled/static p99: ${ab.p99Ratio}x (medians of per-round ratios: ${ab.runs.map((r) => r.throughputRatio).join(', ')})`,
            `page tier off (TESSERA_PAGE_TIER=off): (b) is an ESI assembly of the cached shell and includes on every request`,
            `medians of ${rounds} rounds x ${seconds} s, ${connections} connections, wrk -t1, alternating order`,
          ],
        }
      } finally {
        await staticEdge.stop()
      }
    })
  },
}
