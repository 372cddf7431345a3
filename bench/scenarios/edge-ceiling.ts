// Issue 6.1: what ESI assembly costs at the edge. (a) one static object of exactly the bytes of an assembled
// article page, cached by a second varnishd (same malloc storage, same default params, a 3-line VCL) in front
// of a tiny node:http origin; (b) the assembled page (shell + every fragment) warm in Tessera's own varnishd.
// wrk runs both at the same connection count, in alternating order, several rounds; the ratio is per round.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { startVarnishd } from '../../scripts/stack/varnishd.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import type { Scenario } from '../support/scenario.js'
import { withBenchStack } from '../support/stack.js'
import { fetchPage, fragmentsOf, runAlternating, sideBySideSettings, sideLine, warmArticlePage } from '../support/compare.js'

/** A node:http origin that answers every GET with `body`, cacheable at the edge for an hour. */
async function startStaticOrigin(body: string): Promise<{ port: number; stop(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=0, s-maxage=3600' }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

export const edgeCeiling: Scenario = {
  name: 'edge-ceiling',
  description:
    'ESI assembly cost: one static object of the same bytes as an assembled article page (on a second varnishd with the same storage and params, 3-line VCL) vs the assembled page warm in Tessera\'s varnishd',
  async run() {
    const { seconds, rounds, connections, warmupSeconds } = sideBySideSettings()
    return withBenchStack({ edges: 1 }, async (stack) => {
      const { pagePath, edgeUrl: assembledUrl } = await warmArticlePage(stack)
      const assembled = await fetchPage(assembledUrl)
      if (assembled.status !== 200 || assembled.body.includes('<esi:')) throw new Error(`${assembledUrl}: status ${assembled.status}, or an <esi: tag left`)

      const origin = await startStaticOrigin(assembled.body)
      const workRoot = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-static-'))
      const vclFile = path.join(workRoot, 'static.vcl')
      // Builtin VCL does the rest: a GET without cookies is cached for s-maxage.
      writeFileSync(vclFile, `vcl 4.1;\nbackend origin { .host = "127.0.0.1"; .port = "${origin.port}"; }\n`, { mode: 0o644 })
      const [port, adminPort] = await freePorts(2)
      let staticEdge: Awaited<ReturnType<typeof startVarnishd>> | undefined
      try {
        staticEdge = await startVarnishd({
          workDir: path.join(workRoot, 'varnish'),
          listen: [{ name: 'front', host: '127.0.0.1', port }],
          adminHost: '127.0.0.1',
          adminPort,
          secretFile: stack.edges[0].secretFile,
          vclFile,
          vclPath: [workRoot],
          storageMb: stack.config.edge.storageMb,
        })
        const staticUrl = `http://127.0.0.1:${port}${pagePath}`
        await fetchPage(staticUrl)
        const warm = await fetchPage(staticUrl)
        if (Number(warm.headers.get('age') ?? 'NaN') < 0 || !/^\d+ \d+$/.test(warm.headers.get('x-varnish') ?? '')) throw new Error(`${staticUrl} is not a cache hit on the second request`)
        if (warm.body !== assembled.body) throw new Error('the static object is not byte-identical to the assembled page')
        const bytes = Buffer.byteLength(assembled.body)

        const ab = await runAlternating({ a: ['static', staticUrl], b: ['assembled', assembledUrl] }, { rounds, seconds, connections, warmupSeconds })
        const { static: stat, assembled: page } = ab.sides
        return {
          settings: { seconds, rounds, connections, warmupSeconds, wrkThreads: 1, page: pagePath, storageMb: stack.config.edge.storageMb },
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
            `medians of ${rounds} rounds x ${seconds} s, ${connections} connections, wrk -t1, alternating order`,
          ],
        }
      } finally {
        await staticEdge?.stop()
        await origin.stop()
        rmSync(workRoot, { recursive: true, force: true })
      }
    })
  },
}
