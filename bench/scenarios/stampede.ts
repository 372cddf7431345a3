// Issue 6, scenario 5: a stampede on a cold page. One article page is warm; its shell and every fragment it
// includes are hard-purged; at once, hundreds of readers ask for it. Varnish's request coalescing should send
// ONE fetch per purged object to the origin, whatever the number of readers. Origin fetches per backend from
// varnishstat (VBE.*.tessera_<name>.req deltas) and from the fragment services' tessera_renders_total;
// readers' p50/p99. Several rounds, medians.
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import { eventsSettled } from '../../test/support/wait.js'
import { contentApi, publishedArticles, purgeApi } from '../support/content.js'
import { backendFetches, delta, settledCounters } from '../support/edge-counters.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { median, percentile, round } from '../support/stats.js'

const FRAGMENT_SERVICES = ['nav', 'sidebar', 'article', 'sections'] as const

/** The origin service that renders a site path: /fragments/<name>/... -> name, anything else -> layout. */
const backendOf = (url: string): string => /^\/fragments\/([a-z]+)/.exec(url)?.[1] ?? 'layout'

/** Sum of tessera_renders_total over all its label sets, from one service's /metrics. */
async function renders(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
  return text
    .split('\n')
    .filter((l) => l.startsWith('tessera_renders_total'))
    .reduce((sum, l) => sum + Number(l.trim().split(/\s+/).pop()), 0)
}

async function allRenders(stack: BenchStack): Promise<Record<string, number>> {
  const entries = await Promise.all(FRAGMENT_SERVICES.map(async (n) => [n, await renders(stack.config.ports[n])] as const))
  return Object.fromEntries(entries)
}

interface Round {
  round: number
  readers: number
  errors: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** The same readers on the same page while it is warm, just before the purge. */
  warmP99Ms: number
  /** Origin fetches per backend during the stampede (varnishstat). */
  fetches: Record<string, number>
  /** Fragment renders per service during the stampede (tessera_renders_total). */
  renders: Record<string, number>
}

async function run(stack: BenchStack) {
  const readers = envInt('BENCH_STAMPEDE_READERS', 300)
  const rounds = envInt('BENCH_ROUNDS', 5)
  const purges = purgeApi(stack)
  await eventsSettled(stack.redisUrl)
  const [article] = await publishedArticles(contentApi(stack))
  const page = `/articles/${article.slug}`
  const edge = stack.edges[0]

  // The shell, straight from the layout service, names the fragments the edge will include.
  const shell = await (await fetch(`http://127.0.0.1:${stack.config.ports.layout}${page}`, { signal: AbortSignal.timeout(10_000) })).text()
  const includes = [...new Set([...shell.matchAll(/<esi:include src="([^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, '&')))]
  if (includes.length === 0) throw new Error(`the layout service's ${page} has no <esi:include>`)
  const purged = [page, ...includes]
  const objectsPerBackend: Record<string, number> = {}
  for (const url of purged) objectsPerBackend[backendOf(url)] = (objectsPerBackend[backendOf(url)] ?? 0) + 1

  const pool = new Pool(edge.url, { connections: readers, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const get = async (): Promise<{ ms: number; ok: boolean }> => {
    const t0 = performance.now()
    try {
      const res = await pool.request({ method: 'GET', path: page })
      const body = await res.body.text()
      return { ms: performance.now() - t0, ok: res.statusCode === 200 && !body.includes('<esi:') }
    } catch {
      return { ms: performance.now() - t0, ok: false }
    }
  }
  const results: Round[] = []
  try {
    // Open the connections once (a warm page), so each round measures the stampede, not TCP handshakes.
    await Promise.all(Array.from({ length: readers }, get))
    for (let r = 1; r <= rounds; r++) {
      await get()
      await sleep(300)
      const warmSamples = await Promise.all(Array.from({ length: readers }, get))
      await sleep(300)
      const before = await settledCounters(edge)
      const rendersBefore = await allRenders(stack)
      const answer = await purges<{ complete: boolean }>('POST', '/purges', { urls: purged, mode: 'hard' })
      if (!answer.complete) throw new Error('the hard purge was not acknowledged by the edge')
      const samples = await Promise.all(Array.from({ length: readers }, get))
      const after = await settledCounters(edge)
      const rendersAfter = await allRenders(stack)
      const ms = samples.map((s) => s.ms)
      results.push({
        round: r,
        readers,
        errors: samples.filter((s) => !s.ok).length + warmSamples.filter((s) => !s.ok).length,
        p50Ms: round(percentile(ms, 50)),
        p99Ms: round(percentile(ms, 99)),
        maxMs: round(Math.max(...ms)),
        warmP99Ms: round(percentile(warmSamples.map((w) => w.ms), 99)),
        fetches: backendFetches(delta(before, after)),
        renders: Object.fromEntries(FRAGMENT_SERVICES.map((n) => [n, rendersAfter[n] - rendersBefore[n]])),
      })
    }
  } finally {
    await pool.close()
  }
  return { page, purged, objectsPerBackend, readers, rounds, results }
}

export const stampede: Scenario = {
  name: 'stampede',
  description: 'hundreds of concurrent readers on one page right after its shell and fragments are hard-purged',
  async run() {
    const { page, purged, objectsPerBackend, readers, rounds, results } = await withBenchStack({}, run)
    const backends = Object.keys(objectsPerBackend).sort()
    const perBackend = Object.fromEntries(
      backends.map((b) => {
        const fetches = median(results.map((r) => r.fetches[b] ?? 0))
        return [b, { objects: objectsPerBackend[b], fetchesMedian: fetches, fetchesPerObject: round(fetches / objectsPerBackend[b]), fetchesMax: Math.max(...results.map((r) => r.fetches[b] ?? 0)) }]
      }),
    )
    const rendersMedian = Object.fromEntries(FRAGMENT_SERVICES.map((n) => [n, median(results.map((r) => r.renders[n]))]))
    const p99 = round(median(results.map((r) => r.p99Ms)))
    const p50 = round(median(results.map((r) => r.p50Ms)))
    const warmP99 = round(median(results.map((r) => r.warmP99Ms)))
    const errors = results.reduce((s, r) => s + r.errors, 0)
    return {
      settings: { readers, rounds, page, purgedObjects: purged.length, purge: 'POST /purges {"urls": [page, ...includes], "mode": "hard"}' },
      figures: { purged, perBackend, rendersMedian, readerP50Ms: p50, readerP99Ms: p99, warmReaderP99Ms: warmP99, p99ColdOverWarm: round(p99 / warmP99), errors, rounds: results },
      summary: [
        `${page}: hard-purged the shell + ${purged.length - 1} includes, then ${readers} concurrent readers (medians of ${rounds} rounds)`,
        `origin fetches per purged object (varnishstat): ${backends.map((b) => `${b} ${perBackend[b].fetchesMedian}/${perBackend[b].objects}`).join(', ')}  (max in any round: ${backends.map((b) => `${b} ${perBackend[b].fetchesMax}`).join(', ')})`,
        `fragment renders (tessera_renders_total): ${FRAGMENT_SERVICES.map((n) => `${n} ${rendersMedian[n]}`).join(', ')}`,
        `readers after the purge: p50 ${p50} ms  p99 ${p99} ms (per round: ${results.map((r) => r.p99Ms).join(', ')} ms)`,
        `same ${readers} readers on the warm page: p99 ${warmP99} ms; purged/warm p99 ${round(p99 / warmP99)}x; errors ${errors} of ${readers * rounds * 2}`,
      ],
    }
  },
}
