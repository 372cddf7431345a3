// Side-by-side measurement helpers shared by the scenarios: fetch a page, name its fragments, and run wrk
// against two or more URLs in rounds, the order rotating from round to round.
import http from 'node:http'
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

/** A response's body exactly as it came over the wire (not decoded, unlike fetch: a gzip body stays gzip). */
export function fetchBytes(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within 10 s`)))
    req.on('error', reject)
  })
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

export interface RoundOptions {
  rounds: number
  seconds: number
  connections: number
  warmupSeconds: number
  /** Request headers wrk sends to every side, warm-ups included (the same for all, or the comparison is unfair). */
  headers?: Record<string, string>
}

/** A side: its name, its URL and, optionally, a clock of CPU seconds (say its varnishd's) read around each run. */
export type Target<N extends string> = readonly [name: N, url: string, cpuSeconds?: () => number]

/** One recorded wrk run of a side, with the CPU seconds its clock advanced meanwhile when it has one. */
export type SideRun = WrkResult & { cpuSec?: number }

export type Round<N extends string> = { round: number; order: string } & Record<N, SideRun>

export interface RoundsResult<N extends string> {
  /** Medians over rounds, per side. */
  sides: Record<N, Side>
  runs: Array<Round<N>>
}

/**
 * wrk against N URLs: an unrecorded warm-up of each, then `rounds` rounds, each running every side once,
 * `seconds` long at `connections` connections (wrk -t1), 0.5 s apart. The order rotates by one from round to
 * round (A/B/C, B/C/A, C/A/B, ...; for two sides A/B, B/A, ...), so no side always runs first or after the same one.
 * A side with a CPU clock gets the CPU seconds it advanced during each recorded run (`cpuSec`).
 */
export async function runInRounds<N extends string>(targets: ReadonlyArray<Target<N>>, options: RoundOptions): Promise<RoundsResult<N>> {
  const wrk = (url: string, seconds: number) => runWrk({ url, connections: options.connections, seconds, headers: options.headers })
  for (const [, url] of targets) await wrk(url, options.warmupSeconds)
  const runs: Array<Round<N>> = []
  for (let r = 0; r < options.rounds; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length])
    const result = {} as Record<N, SideRun>
    for (const [name, url, cpuSeconds] of order) {
      const cpuBefore = cpuSeconds?.() ?? 0
      const run = await wrk(url, options.seconds)
      // To the millisecond: finer than /proc's 10 ms ticks, without the float noise of the difference.
      result[name] = cpuSeconds ? { ...run, cpuSec: Math.round((cpuSeconds() - cpuBefore) * 1000) / 1000 } : run
      await sleep(500)
    }
    runs.push({ round: r + 1, order: order.map(([n]) => n).join('/'), ...result })
  }
  const sides = Object.fromEntries(targets.map(([name]) => [name, summarise(runs.map((run) => run[name]))])) as Record<N, Side>
  return { sides, runs }
}

/** A figure computed from each round's runs (they shared the machine's mood), rounded, and its median over rounds. */
export function perRound<N extends string>(runs: ReadonlyArray<Round<N>>, figure: (run: Record<N, SideRun>) => number): { median: number; rounds: number[] } {
  const rounds = runs.map((run) => round(figure(run)))
  return { median: round(median(rounds)), rounds }
}

export interface AlternatingResult<A extends string, B extends string> {
  sides: Record<A | B, Side>
  /** Median over rounds of a/b requests/s and of b/a p99 (each round's two runs shared the machine). */
  throughputRatio: number
  p99Ratio: number
  runs: Array<{ round: number; order: string; throughputRatio: number; p99Ratio: number } & Record<A | B, WrkResult>>
}

/** runInRounds for two sides (A/B, then B/A, ...), with each round's a/b throughput and b/a p99 ratios. */
export async function runAlternating<A extends string, B extends string>(
  targets: { a: [A, string]; b: [B, string] },
  options: RoundOptions,
): Promise<AlternatingResult<A, B>> {
  const [nameA] = targets.a
  const [nameB] = targets.b
  const { sides, runs } = await runInRounds<A | B>([targets.a, targets.b], options)
  const throughput = perRound(runs, (run) => run[nameA].requestsPerSec / run[nameB].requestsPerSec)
  const p99 = perRound(runs, (run) => run[nameB].latencyMs.p99 / run[nameA].latencyMs.p99)
  return {
    sides,
    throughputRatio: throughput.median,
    p99Ratio: p99.median,
    runs: runs.map((run, i) => ({ ...run, throughputRatio: throughput.rounds[i], p99Ratio: p99.rounds[i] })),
  }
}

export const sideLine = (label: string, s: Side) => `${label.padEnd(24)} ${s.requestsPerSec} req/s  p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms  errors ${s.errors}`


/** The knobs every side-by-side scenario reads; a scenario may choose other defaults for rounds and seconds. */
export function sideBySideSettings(defaults: { seconds: number; rounds: number } = { seconds: 5, rounds: 3 }): {
  seconds: number
  rounds: number
  connections: number
  warmupSeconds: number
} {
  return {
    seconds: envInt('BENCH_SECONDS', defaults.seconds),
    rounds: envInt('BENCH_ROUNDS', defaults.rounds),
    connections: envInt('BENCH_CONNECTIONS', 32),
    warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 2),
  }
}

/**
 * The newest published article's page, warm at the edge (a cache hit for the debug token), once the seed's
 * purges have all landed (they must not hit the warmed page). With the page tier on (the default) the hit is
 * the assembled page's (X-Tessera-Tier: page); with it off, the shell's, assembled by ESI on every request.
 */
export async function warmArticlePage(stack: BenchStack): Promise<{ pagePath: string; edgeUrl: string }> {
  await eventsSettled(stack.redisUrl)
  const [article] = await publishedArticles(contentApi(stack))
  const pagePath = `/articles/${article.slug}`
  const edgeUrl = stack.edges[0].url + pagePath
  for (let i = 0; i < 3; i++) await fetchPage(edgeUrl)
  const probe = await fetchPage(edgeUrl, { 'x-tessera-debug': stack.secrets.debugToken })
  if (probe.headers.get('x-tessera-cache') !== 'hit') throw new Error(`${edgeUrl} is not a cache hit after warming`)
  const tier = probe.headers.get('x-tessera-tier')
  if (tier !== (stack.config.edge.pageTier ? 'page' : null)) {
    throw new Error(`${edgeUrl} has X-Tessera-Tier: ${tier ?? '(none)'} with the page tier ${stack.config.edge.pageTier ? 'on' : 'off'}`)
  }
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
