// Issue 7: the assembled-page tier (varnish/tier.vcl). One run, four sides, the same article page:
//   (a) static: one object of exactly the page's bytes on a second varnishd (same storage and params, 3-line
//       VCL, node:http origin; support/static-edge.ts), the ceiling for one object lookup on this machine;
//   (a') bare (issue 19): the same bytes on a bare varnishd: default parameters, the builtin VCL plus
//       `set beresp.do_gzip = true`, the origin serving the plain page: the comparison anyone can repeat;
//   (b) tierOn: the warm page on a stack with the tier on (the default): the front's assembled copy, a hit;
//   (c) tierOff: the warm page on a stack with TESSERA_PAGE_TIER=off: ESI assembly of the cached shell and
//       includes on every request;
//   (d) tierLate (issue 19): the warm page on a stack with the tier on and TESSERA_PAGE_TIER_LATE_INCLUDES=
//       /fragments/nav: the front's copy, a hit, with nav's tag resolved on each delivery (one ESI include).
// The stacks run side by side, seeded with the same content; wrk runs the four in rounds, the order rotating
// from round to round, with the same settings and headers for every side. The goal stated by the issue:
// tierOn/static throughput >= 0.90 (median of the per-round ratios); tierOn/bare is reported beside it.
//
// Alongside, the CPU each side's varnishd worker spends per request (/proc, support/process-cpu.ts), and the
// cost ratio static/tierOn of it: a view of the tier's price that the machine's outside load moves less
// than requests/s. The tier-on stack's varnishd serves both its listen addresses (front and inner), so its
// figure is the whole cost of a page hit.
//
// Compression is the same on every side. wrk sends no Accept-Encoding of its own, and Tessera stores pages
// gzipped (policy.vcl, tier.vcl) while the builtin VCL would store the origin's plain bytes: measured that way,
// the tier would gunzip on every request and the static object would not. So the static origin serves the
// tier's own gzip bytes with Content-Encoding: gzip (varnishd stores them compressed, as the tier's copy is),
// the bare varnishd gzips the plain page itself (do_gzip: the same zlib pass as the tier's front, so the same
// bytes), and wrk sends `Accept-Encoding: gzip` to every side, as browsers do: (a), (a') and (b) send the
// stored gzip bytes as they are, (c) stitches its gzipped shell and includes (more bytes: each include is its
// own gzip stream, which is why the tier's front gzips the page once). BENCH_ACCEPT_ENCODING=none measures
// without it instead (then every side gunzips on delivery).
import { gunzipSync, gzipSync } from 'node:zlib'
import { type Counters, delta, settledCounters } from '../support/edge-counters.js'
import type { Scenario } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { varnishdWorkerCpuClock } from '../support/process-cpu.js'
import { startStaticEdge } from '../support/static-edge.js'
import { median } from '../support/stats.js'
import { fetchBytes, fragmentsOf, perRound, runInRounds, type SideRun, sideBySideSettings, sideLine, warmArticlePage } from '../support/compare.js'

type SideName = 'static' | 'bare' | 'tierOn' | 'tierOff' | 'tierLate'
/** Side (d)'s late-bound includes. */
const LATE_INCLUDES = ['/fragments/nav']

/** The 90% goal of issue 7: the tier's warm page at no less than 0.90 of a static object's requests/s. */
const GOAL = 0.9
/** The seed's scheduled blocks start 2 and 5 minutes after it: seeding 10 minutes back keeps them out of the run. */
const SEED_AGE_MS = 10 * 60_000

function acceptEncoding(): { name: string; headers: Record<string, string> } {
  const raw = process.env.BENCH_ACCEPT_ENCODING ?? 'gzip'
  if (raw === 'gzip') return { name: 'gzip', headers: { 'accept-encoding': 'gzip' } }
  if (raw === 'none') return { name: 'none', headers: {} }
  throw new Error(`BENCH_ACCEPT_ENCODING=${JSON.stringify(raw)} must be gzip or none`)
}

const firstDifference = (a: Buffer, b: Buffer): number => {
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  return i
}

/**
 * Every side answers 200 with the same plain bytes without Accept-Encoding, and with `Accept-Encoding: gzip` a
 * gzip body that decodes to them. The sides that store one gzip of the page (static, bare, tier on) send the
 * same gzip bytes; tier off sends its ESI pass's stitched gzip (its size is reported). Returns the page's
 * sizes (and what one zlib pass at level 6 makes of it) and fragments.
 */
async function verifyIdenticalBytes(urls: Record<SideName, string>): Promise<{ bytes: number; gzipBytes: number; stitchedGzipBytes: number; lateGzipBytes: number; zlibGzipBytes: number; fragments: string[] }> {
  const pages = await Promise.all(
    (Object.entries(urls) as Array<[SideName, string]>).map(async ([name, url]) => {
      const gzip = await fetchBytes(url, { 'accept-encoding': 'gzip' })
      const plain = await fetchBytes(url)
      if (gzip.status !== 200 || plain.status !== 200) throw new Error(`${name} (${url}) answered ${gzip.status} / ${plain.status}`)
      if (gzip.headers['content-encoding'] !== 'gzip' || plain.headers['content-encoding'] !== undefined) {
        throw new Error(`${name} (${url}): Content-Encoding ${gzip.headers['content-encoding']} with Accept-Encoding: gzip, ${plain.headers['content-encoding']} without`)
      }
      if (!gunzipSync(gzip.body).equals(plain.body)) throw new Error(`${name} (${url}): its gzip body does not decode to its plain body`)
      if (plain.body.includes('<esi:')) throw new Error(`${name} (${url}) left an <esi: tag`)
      return { name, gzip: gzip.body, plain: plain.body }
    }),
  )
  const [first, ...others] = pages
  for (const other of others) {
    for (const kind of ['plain', 'gzip'] as const) {
      if (kind === 'gzip' && (other.name === 'tierOff' || other.name === 'tierLate')) continue // (each stitches gzip in its ESI pass)
      if (!other[kind].equals(first[kind])) {
        const at = firstDifference(first[kind], other[kind])
        throw new Error(
          `the ${kind} bodies differ: ${first.name} ${first[kind].length} bytes, ${other.name} ${other[kind].length} bytes, first difference at byte ${at}` +
            (kind === 'plain' ? `: ${JSON.stringify(first.plain.subarray(at, at + 80).toString())} vs ${JSON.stringify(other.plain.subarray(at, at + 80).toString())}` : ''),
        )
      }
    }
  }
  const stitched = pages.find((p) => p.name === 'tierOff')!
  return {
    bytes: first.plain.length,
    gzipBytes: first.gzip.length,
    stitchedGzipBytes: stitched.gzip.length,
    lateGzipBytes: pages.find((p) => p.name === 'tierLate')!.gzip.length,
    zlibGzipBytes: gzipSync(first.plain, { level: 6 }).length,
    fragments: fragmentsOf(first.plain.toString()),
  }
}

interface TierProbe {
  /** X-Tessera-Tier (`page`: served by the page tier), `none` when absent. */
  tier: string
  /** X-Tessera-Cache: hit, grace or miss. */
  cache: string
  ttlLeftSec: number
}

/** What the edge says about the page to the debug token (with the measurement's Accept-Encoding). */
async function probeTier(stack: BenchStack, url: string, headers: Record<string, string>): Promise<TierProbe> {
  const res = await fetchBytes(url, { ...headers, 'x-tessera-debug': stack.secrets.debugToken })
  const header = (name: string) => String(res.headers[name] ?? 'none')
  return { tier: header('x-tessera-tier'), cache: header('x-tessera-cache'), ttlLeftSec: Number(res.headers['x-tessera-ttl-left']) }
}

/** What the edge did while wrk ran: requests, hits, misses and ESI sub-requests. */
function edgeWork(d: Counters): { clientRequests: number; cacheHits: number; cacheMisses: number; esiRequests: number } {
  return { clientRequests: d['MAIN.client_req'] ?? 0, cacheHits: d['MAIN.cache_hit'] ?? 0, cacheMisses: d['MAIN.cache_miss'] ?? 0, esiRequests: d['MAIN.esi_req'] ?? 0 }
}

/** Microseconds of varnishd worker CPU per request wrk completed, in one run (every side here has a CPU clock). */
const cpuUsPerRequest = (run: SideRun): number => (run.cpuSec! * 1e6) / run.requests

export const pageTier: Scenario = {
  name: 'page-tier',
  description:
    'the assembled-page tier: the warm article page with the tier on vs off (ESI on every request) vs on with nav late-bound (one ESI include per hit) vs a static object of the same bytes on a second varnishd (our params) and on a bare default varnishd (do_gzip); goal: tier on >= 0.90 x static throughput',
  async run() {
    // Its goal is a ratio near 1 on a machine shared with other load, where one round can be off by a third:
    // seven shorter rounds give the median more to stand on than the other scenarios' three.
    const { seconds, rounds, connections, warmupSeconds } = sideBySideSettings({ seconds: 4, rounds: 7 })
    const encoding = acceptEncoding()
    const seedAt = new Date(Date.now() - SEED_AGE_MS)
    return withBenchStack({ edges: 1, pageTier: true, seedAt }, (on) =>
      withBenchStack({ edges: 1, pageTier: false, seedAt }, (off) =>
      withBenchStack({ edges: 1, pageTier: true, lateIncludes: LATE_INCLUDES, seedAt }, async (late) => {
        // warmArticlePage checks X-Tessera-Tier: page (a page-tier hit) on `on` and `late`, none (a shell hit) on `off`.
        const tierOn = await warmArticlePage(on)
        const tierOff = await warmArticlePage(off)
        const tierLate = await warmArticlePage(late)
        if (tierOn.pagePath !== tierOff.pagePath || tierOn.pagePath !== tierLate.pagePath) {
          throw new Error(`the stacks picked different pages: ${tierOn.pagePath}, ${tierOff.pagePath}, ${tierLate.pagePath}`)
        }
        const { pagePath } = tierOn

        const gzipPage = await fetchBytes(tierOn.edgeUrl, { 'accept-encoding': 'gzip' })
        if (gzipPage.status !== 200 || gzipPage.headers['content-encoding'] !== 'gzip') throw new Error(`${tierOn.edgeUrl} did not answer a gzip 200 to Accept-Encoding: gzip`)
        const plainPage = await fetchBytes(tierOn.edgeUrl)
        if (plainPage.status !== 200 || plainPage.headers['content-encoding'] !== undefined) throw new Error(`${tierOn.edgeUrl} did not answer a plain 200 without Accept-Encoding`)
        const staticEdge = await startStaticEdge(on.edges[0], { pagePath, body: gzipPage.body, headers: { 'content-encoding': 'gzip' } })
        const bareEdge = await startStaticEdge(on.edges[0], { pagePath, body: plainPage.body }, { bare: true }).catch(async (err: unknown) => {
          await staticEdge.stop()
          throw err
        })
        try {
          const urls: Record<SideName, string> = { static: staticEdge.url, bare: bareEdge.url, tierOn: tierOn.edgeUrl, tierOff: tierOff.edgeUrl, tierLate: tierLate.edgeUrl }
          const page = await verifyIdenticalBytes(urls)

          const before = { tierOn: await probeTier(on, urls.tierOn, encoding.headers), tierOff: await probeTier(off, urls.tierOff, encoding.headers), tierLate: await probeTier(late, urls.tierLate, encoding.headers) }
          if (before.tierOn.tier !== 'page' || before.tierOn.cache !== 'hit') throw new Error(`tier on: ${urls.tierOn} is not a page-tier hit: ${JSON.stringify(before.tierOn)}`)
          if (before.tierLate.tier !== 'page' || before.tierLate.cache !== 'hit') throw new Error(`tier late: ${urls.tierLate} is not a page-tier hit: ${JSON.stringify(before.tierLate)}`)
          if (before.tierOff.tier !== 'none' || before.tierOff.cache !== 'hit') throw new Error(`tier off: ${urls.tierOff} is not a plain (shell) hit: ${JSON.stringify(before.tierOff)}`)
          const countersBefore = { tierOn: await settledCounters(on.edges[0]), tierOff: await settledCounters(off.edges[0]), tierLate: await settledCounters(late.edges[0]) }
          const cpu = {
            static: await varnishdWorkerCpuClock(staticEdge.varnishd),
            bare: await varnishdWorkerCpuClock(bareEdge.varnishd),
            tierOn: await varnishdWorkerCpuClock(on.edges[0].varnishd),
            tierOff: await varnishdWorkerCpuClock(off.edges[0].varnishd),
            tierLate: await varnishdWorkerCpuClock(late.edges[0].varnishd),
          }

          const { sides, runs } = await runInRounds<SideName>(
            [['static', urls.static, cpu.static], ['bare', urls.bare, cpu.bare], ['tierOn', urls.tierOn, cpu.tierOn], ['tierOff', urls.tierOff, cpu.tierOff], ['tierLate', urls.tierLate, cpu.tierLate]],
            { rounds, seconds, connections, warmupSeconds, headers: encoding.headers },
          )

          const work = {
            tierOn: edgeWork(delta(countersBefore.tierOn, await settledCounters(on.edges[0]))),
            tierOff: edgeWork(delta(countersBefore.tierOff, await settledCounters(off.edges[0]))),
            tierLate: edgeWork(delta(countersBefore.tierLate, await settledCounters(late.edges[0]))),
          }
          const after = { tierOn: await probeTier(on, urls.tierOn, encoding.headers), tierOff: await probeTier(off, urls.tierOff, encoding.headers), tierLate: await probeTier(late, urls.tierLate, encoding.headers) }
          const ratio = {
            tierOnOverStaticThroughput: perRound(runs, (r) => r.tierOn.requestsPerSec / r.static.requestsPerSec),
            tierOnOverBareThroughput: perRound(runs, (r) => r.tierOn.requestsPerSec / r.bare.requestsPerSec),
            staticOverBareThroughput: perRound(runs, (r) => r.static.requestsPerSec / r.bare.requestsPerSec),
            tierOnOverTierOffThroughput: perRound(runs, (r) => r.tierOn.requestsPerSec / r.tierOff.requestsPerSec),
            tierOffOverStaticThroughput: perRound(runs, (r) => r.tierOff.requestsPerSec / r.static.requestsPerSec),
            tierLateOverTierOnThroughput: perRound(runs, (r) => r.tierLate.requestsPerSec / r.tierOn.requestsPerSec),
            tierLateOverTierOffThroughput: perRound(runs, (r) => r.tierLate.requestsPerSec / r.tierOff.requestsPerSec),
            tierOnOverStaticP99: perRound(runs, (r) => r.tierOn.latencyMs.p99 / r.static.latencyMs.p99),
            tierOffOverTierOnP99: perRound(runs, (r) => r.tierOff.latencyMs.p99 / r.tierOn.latencyMs.p99),
          }
          const varnishdCpu = {
            usPerRequest: {
              static: perRound(runs, (r) => cpuUsPerRequest(r.static)),
              bare: perRound(runs, (r) => cpuUsPerRequest(r.bare)),
              tierOn: perRound(runs, (r) => cpuUsPerRequest(r.tierOn)),
              tierOff: perRound(runs, (r) => cpuUsPerRequest(r.tierOff)),
              tierLate: perRound(runs, (r) => cpuUsPerRequest(r.tierLate)),
            },
            // 1.0: a page-tier hit costs varnishd as much CPU as the static object.
            staticOverTierOnCost: perRound(runs, (r) => cpuUsPerRequest(r.static) / cpuUsPerRequest(r.tierOn)),
            bareOverTierOnCost: perRound(runs, (r) => cpuUsPerRequest(r.bare) / cpuUsPerRequest(r.tierOn)),
          }
          // Judged on the unrounded ratios (0.895 would print as 0.9).
          const exact = runs.map((r) => r.tierOn.requestsPerSec / r.static.requestsPerSec)
          const goal = {
            tierOnOverStaticThroughput: GOAL,
            measured: Math.round(median(exact) * 1000) / 1000,
            met: median(exact) >= GOAL,
            roundsMeeting: exact.filter((x) => x >= GOAL).length,
          }
          const perRoundList = (r: { rounds: number[] }) => r.rounds.join(', ')
          return {
            settings: { seconds, rounds, connections, warmupSeconds, wrkThreads: 1, page: pagePath, acceptEncoding: encoding.name, seededAt: seedAt.toISOString(), lateIncludes: LATE_INCLUDES.join(' ') },
            figures: {
              page: { path: pagePath, ...page, includes: page.fragments.length, identicalOnAllSides: true },
              tierHeaders: { before, after },
              static: sides.static,
              bare: sides.bare,
              tierOn: sides.tierOn,
              tierOff: sides.tierOff,
              tierLate: sides.tierLate,
              ratio,
              goal,
              varnishdCpu,
              edgeWorkDuringRuns: work,
              runs,
            },
            summary: [
              `page ${pagePath}: ${page.bytes} bytes, ${page.fragments.length} includes; plain bytes identical on all five sides`,
              `gzip: ${page.gzipBytes} bytes from static, bare and tier on (identical; one zlib pass at level 6: ${page.zlibGzipBytes}); tier off's ESI pass stitches ${page.stitchedGzipBytes} (+${Math.round((page.stitchedGzipBytes / page.gzipBytes - 1) * 100)}%), tier late's (the copy's gzip with nav's) ${page.lateGzipBytes} (+${Math.round((page.lateGzipBytes / page.gzipBytes - 1) * 100)}%)`,
              `wrk sends ${encoding.name === 'gzip' ? 'Accept-Encoding: gzip' : 'no Accept-Encoding'} to every side; each stores the page gzipped`,
              `tier on: X-Tessera-Tier ${before.tierOn.tier}, ${before.tierOn.cache} before the runs (TTL left ${before.tierOn.ttlLeftSec} s), ${after.tierOn.tier}, ${after.tierOn.cache} after; tier off: X-Tessera-Tier ${before.tierOff.tier}, shell ${before.tierOff.cache}`,
              sideLine('(a) static object:', sides.static),
              sideLine("(a') bare varnishd:", sides.bare),
              sideLine('(b) tier on:', sides.tierOn),
              sideLine('(c) tier off (ESI):', sides.tierOff),
              sideLine(`(d) tier on, late ${LATE_INCLUDES.join(' ')}:`, sides.tierLate),
              `tierOn/static throughput: ${ratio.tierOnOverStaticThroughput.median} (per round: ${perRoundList(ratio.tierOnOverStaticThroughput)}); goal >= ${GOAL}: ${goal.met ? 'met' : 'NOT met'} (${goal.measured}; ${goal.roundsMeeting} of ${rounds} rounds at or above it)`,
              `tierOn/bare throughput: ${ratio.tierOnOverBareThroughput.median} (per round: ${perRoundList(ratio.tierOnOverBareThroughput)}); static/bare: ${ratio.staticOverBareThroughput.median} (per round: ${perRoundList(ratio.staticOverBareThroughput)})`,
              `tierOn/tierOff throughput: ${ratio.tierOnOverTierOffThroughput.median}x (per round: ${perRoundList(ratio.tierOnOverTierOffThroughput)}); tierOff/static: ${ratio.tierOffOverStaticThroughput.median}`,
              `tierLate/tierOn throughput: ${ratio.tierLateOverTierOnThroughput.median} (per round: ${perRoundList(ratio.tierLateOverTierOnThroughput)}); tierLate/tierOff: ${ratio.tierLateOverTierOffThroughput.median}x`,
              `varnishd CPU per request: static ${varnishdCpu.usPerRequest.static.median} µs, bare ${varnishdCpu.usPerRequest.bare.median} µs, tier on ${varnishdCpu.usPerRequest.tierOn.median} µs, tier off ${varnishdCpu.usPerRequest.tierOff.median} µs, tier late ${varnishdCpu.usPerRequest.tierLate.median} µs (per round: ${perRoundList(varnishdCpu.usPerRequest.static)}; ${perRoundList(varnishdCpu.usPerRequest.tierOn)}; ${perRoundList(varnishdCpu.usPerRequest.tierOff)}; ${perRoundList(varnishdCpu.usPerRequest.tierLate)})`,
              `cost ratio static/tierOn (varnishd CPU per request; 1.0 = the tier's page costs what the static object does): ${varnishdCpu.staticOverTierOnCost.median} (per round: ${perRoundList(varnishdCpu.staticOverTierOnCost)}); bare/tierOn: ${varnishdCpu.bareOverTierOnCost.median}`,
              `p99 tierOn/static: ${ratio.tierOnOverStaticP99.median}x (per round: ${perRoundList(ratio.tierOnOverStaticP99)}); tierOff/tierOn: ${ratio.tierOffOverTierOnP99.median}x (per round: ${perRoundList(ratio.tierOffOverTierOnP99)})`,
              `edge work during the runs: tier on ${work.tierOn.clientRequests} requests, ${work.tierOn.esiRequests} ESI sub-requests, ${work.tierOn.cacheMisses} misses; tier off ${work.tierOff.clientRequests} requests, ${work.tierOff.esiRequests} ESI sub-requests, ${work.tierOff.cacheMisses} misses; tier late ${work.tierLate.clientRequests} requests, ${work.tierLate.esiRequests} ESI sub-requests, ${work.tierLate.cacheMisses} misses`,
              `medians of ${rounds} rounds x ${seconds} s, ${connections} connections, wrk -t1, order rotating per round`,
            ],
          }
        } finally {
          await bareEdge.stop()
          await staticEdge.stop()
        }
      })),
    )
  },
}
