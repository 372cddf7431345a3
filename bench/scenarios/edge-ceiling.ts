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
import { eventsSettled } from '../../test/support/wait.js'
import { contentApi, publishedArticles } from '../support/content.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { withBenchStack } from '../support/stack.js'
import { median, round } from '../support/stats.js'
import { runWrk, type WrkResult } from '../support/wrk.js'

export async function fetchPage(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
  return { status: res.status, body: await res.text(), headers: res.headers }
}

/** The fragments a page is made of, as a sorted list of its data-fragment markers. */
export const fragmentsOf = (html: string): string[] => [...html.matchAll(/data-fragment="([^"]+)"/g)].map((m) => m[1]).sort()

export interface Side {
  requestsPerSec: number
  p50Ms: number
  p99Ms: number
  errors: number
}

const summarise = (runs: WrkResult[]): Side => ({
  requestsPerSec: round(median(runs.map((r) => r.requestsPerSec))),
  p50Ms: round(median(runs.map((r) => r.latencyMs.p50))),
  p99Ms: round(median(runs.map((r) => r.latencyMs.p99))),
  errors: runs.reduce((sum, r) => sum + r.errors, 0),
})

export interface AlternatingResult<A extends string, B extends string> {
  sides: Record<A | B, Side>
  /** Median over rounds of a/b requests/s and of b/a p99 (each round's two runs shared the machine). */
  throughputRatio: number
  p99Ratio: number
  runs: Array<{ round: number; order: string; throughputRatio: number; p99Ratio: number } & Record<A | B, WrkResult>>
}

/**
 * wrk against two URLs: an unrecorded warm-up of each, then `rounds` rounds, A/B then B/A, ..., each run
 * `seconds` long at `connections` connections (wrk -t1), 0.5 s apart.
 */
export async function runAlternating<A extends string, B extends string>(
  targets: { a: [A, string]; b: [B, string] },
  options: { rounds: number; seconds: number; connections: number; warmupSeconds: number },
): Promise<AlternatingResult<A, B>> {
  const [nameA, urlA] = targets.a
  const [nameB, urlB] = targets.b
  for (const url of [urlA, urlB]) await runWrk({ url, connections: options.connections, seconds: options.warmupSeconds })
  const runs: AlternatingResult<A, B>['runs'] = []
  for (let r = 0; r < options.rounds; r++) {
    const order: Array<[A | B, string]> = r % 2 === 0 ? [targets.a, targets.b] : [targets.b, targets.a]
    const result = {} as Record<A | B, WrkResult>
    for (const [name, url] of order) {
      result[name] = await runWrk({ url, connections: options.connections, seconds: options.seconds })
      await sleep(500)
    }
    runs.push({
      round: r + 1,
      order: order.map(([n]) => n).join('/'),
      throughputRatio: round(result[nameA].requestsPerSec / result[nameB].requestsPerSec),
      p99Ratio: round(result[nameB].latencyMs.p99 / result[nameA].latencyMs.p99),
      ...result,
    })
  }
  const sides = { [nameA]: summarise(runs.map((r) => r[nameA])), [nameB]: summarise(runs.map((r) => r[nameB])) } as Record<A | B, Side>
  return { sides, throughputRatio: round(median(runs.map((r) => r.throughputRatio))), p99Ratio: round(median(runs.map((r) => r.p99Ratio))), runs }
}

export const sideLine = (label: string, s: Side) => `${label.padEnd(24)} ${s.requestsPerSec} req/s  p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms  errors ${s.errors}`

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
    const seconds = envInt('BENCH_SECONDS', 5)
    const rounds = envInt('BENCH_ROUNDS', 3)
    const connections = envInt('BENCH_CONNECTIONS', 32)
    const warmupSeconds = envInt('BENCH_WARMUP_SECONDS', 2)
    return withBenchStack({ edges: 1 }, async (stack) => {
      await eventsSettled(stack.redisUrl)
      const [article] = await publishedArticles(contentApi(stack))
      const pagePath = `/articles/${article.slug}`
      const assembledUrl = stack.edges[0].url + pagePath
      for (let i = 0; i < 3; i++) await fetchPage(assembledUrl)
      const probe = await fetchPage(assembledUrl, { 'x-tessera-debug': stack.secrets.debugToken })
      if (probe.headers.get('x-tessera-cache') !== 'hit') throw new Error(`${assembledUrl} is not a cache hit after warming`)
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
