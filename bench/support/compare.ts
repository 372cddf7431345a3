// Side-by-side measurement helpers shared by the scenarios: fetch a page, name its fragments, and run wrk
// against two URLs in alternating order.
import { sleep } from './scenario.js'
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

