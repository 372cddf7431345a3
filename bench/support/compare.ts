// Side-by-side measurement helpers shared by the scenarios: fetch a page, name its fragments, and run wrk
// against two URLs in alternating order.
import { eventsSettled } from '../../test/support/wait.js'
import { contentApi, publishedArticles } from './content.js'
import { envInt, sleep } from './scenario.js'
import type { BenchStack } from './stack.js'
import { median, round } from './stats.js'
import { runWrk, type WrkResult } from './wrk.js'

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


/** The knobs every side-by-side scenario reads. */
export function sideBySideSettings(): { seconds: number; rounds: number; connections: number; warmupSeconds: number } {
  return {
    seconds: envInt('BENCH_SECONDS', 5),
    rounds: envInt('BENCH_ROUNDS', 3),
    connections: envInt('BENCH_CONNECTIONS', 32),
    warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 2),
  }
}

/**
 * The newest published article's page, warm at the edge (a cache hit for the debug token), once the seed's
 * purges have all landed (they must not hit the warmed page).
 */
export async function warmArticlePage(stack: BenchStack): Promise<{ pagePath: string; edgeUrl: string }> {
  await eventsSettled(stack.redisUrl)
  const [article] = await publishedArticles(contentApi(stack))
  const pagePath = `/articles/${article.slug}`
  const edgeUrl = stack.edges[0].url + pagePath
  for (let i = 0; i < 3; i++) await fetchPage(edgeUrl)
  const probe = await fetchPage(edgeUrl, { 'x-tessera-debug': stack.secrets.debugToken })
  if (probe.headers.get('x-tessera-cache') !== 'hit') throw new Error(`${edgeUrl} is not a cache hit after warming`)
  return { pagePath, edgeUrl }
}

/** Both ways must produce the same page: 200, every include resolved, the same fragments. */
export async function verifySamePage(sides: Record<string, string>): Promise<{ fragments: string[]; identicalBodies: boolean }> {
  const pages = await Promise.all(Object.entries(sides).map(async ([name, url]) => ({ name, url, page: await fetchPage(url) })))
  for (const { name, url, page } of pages) {
    if (page.status !== 200 || page.body.includes('<esi:')) throw new Error(`${name} answered ${page.status} for ${url}, or left an <esi: tag`)
  }
  const fragments = fragmentsOf(pages[0].page.body)
  for (const { name, page } of pages.slice(1)) {
    if (fragments.length === 0 || fragments.join() !== fragmentsOf(page.body).join()) {
      throw new Error(`the pages differ: ${pages[0].name} has fragments [${fragments}], ${name} has [${fragmentsOf(page.body)}]`)
    }
  }
  return { fragments, identicalBodies: pages.every(({ page }) => page.body === pages[0].page.body) }
}
