// Issue 16: what the edge saves a slow, failing legacy CMS and its readers. The simulated legacy (legacy-demo/,
// TESSERA_DEMO_LEGACY=on with its demo routes) renders every page in 2 s and answers 5% of renders with a 500 that
// asks to be cached (no hangs here: the 12 s hang is the stale-if-error story, not this one). Readers with Zipf
// popularity (s = 1.0) over its pages (the archive's stories, videos, slideshows, old section fronts, the video
// index that includes Tessera's nav) read either through the edge ("in front") or straight from the legacy
// ("direct"), the same seeded sequence of pages, the two sides alternating in rounds (a/b, b/a, ...). The edge
// starts every round cold (everything banned), so its figures include filling the cache.
// Per side: reader error rate (any status >= 400 or a failed request), p50/p99, and the legacy's renders
// (its own count, GET /_legacy/stats) per reader request.
import type { LegacyStats } from '../../legacy-demo/app.js'
import { eventsSettled } from '../../test/support/wait.js'
import { purgeApi } from '../support/content.js'
import { seededRandom, shuffled, zipfSampler } from '../support/random.js'
import { runReaders } from '../support/readers.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { median, percentile, round } from '../support/stats.js'

const ZIPF_S = 1.0
const SEED = 16
const RENDER_MS = 2000
const ERROR_RATE = 0.05
const VIDEOS = ['harbour-at-dawn', 'city-council-live', 'football-highlights', 'weather-week', 'market-day', 'night-ferry']
const SLIDESHOWS = ['old-town-in-snow', 'festival-faces', 'lighthouses']
const SECTIONS = ['news', 'sport', 'culture', 'business']

type SideName = 'in front' | 'direct'

interface SideRun {
  side: SideName
  round: number
  readerRequests: number
  readerErrors: number
  errorRate: number
  readerRps: number
  p50Ms: number
  p99Ms: number
  legacyRenders: number
  legacyErrors: number
  legacyPerReaderRequest: number
}

async function legacyStats(base: string): Promise<LegacyStats> {
  const res = await fetch(`${base}/_legacy/stats`, { signal: AbortSignal.timeout(5000) })
  return (await res.json()) as LegacyStats
}

async function runSide(stack: BenchStack, side: SideName, roundNo: number, pages: string[], legacyBase: string): Promise<SideRun> {
  const seconds = envInt('BENCH_SECONDS', 30)
  const workers = envInt('BENCH_CONNECTIONS', 32)
  if (side === 'in front') {
    // Cold: nothing of the last round's left at the edge.
    await purgeApi(stack)('POST', '/bans', { regex: '^/' })
    await sleep(200)
  }
  const samplers = Array.from({ length: workers }, (_, w) => zipfSampler(pages.length, ZIPF_S, seededRandom(SEED * 1000 + roundNo * 100 + w)))
  const before = await legacyStats(legacyBase)
  const readers = await runReaders({ base: side === 'in front' ? stack.edges[0].url : legacyBase, workers, seconds, maxRequests: 2_000_000, next: (w) => pages[samplers[w]()] })
  // Renders still running when the readers stopped are counted too (each was asked for by a reader).
  await sleep(RENDER_MS + 500)
  const after = await legacyStats(legacyBase)
  const legacyRenders = after.renders - before.renders
  return {
    side,
    round: roundNo,
    readerRequests: readers.requests,
    readerErrors: readers.errors,
    errorRate: Number((readers.errors / readers.requests).toPrecision(3)),
    readerRps: round(readers.requests / readers.seconds),
    p50Ms: round(percentile(readers.latenciesMs, 50)),
    p99Ms: round(percentile(readers.latenciesMs, 99)),
    legacyRenders,
    legacyErrors: after.errors - before.errors,
    legacyPerReaderRequest: Number((legacyRenders / readers.requests).toPrecision(3)),
  }
}

export const legacyOffload: Scenario = {
  name: 'legacy-offload',
  description: 'Zipf readers over a slow, failing legacy CMS (2 s renders, 5% errors): through the edge vs straight to the legacy',
  async run() {
    const rounds = envInt('BENCH_ROUNDS', 3)
    const stories = envInt('BENCH_LEGACY_STORIES', 200)
    const env = {
      TESSERA_DEMO_LEGACY_RENDER_MS: String(RENDER_MS),
      TESSERA_DEMO_LEGACY_ERROR_RATE: String(ERROR_RATE),
      TESSERA_DEMO_LEGACY_HANG_RATE: '0',
      TESSERA_DEMO_LEGACY_STORIES: String(stories),
    }
    const runs = await withBenchStack({ legacy: { demo: true }, env }, async (stack) => {
      const legacyBase = `http://${stack.config.host}:${stack.config.demoLegacyPort}`
      const pages = shuffled(
        [
          '/video/',
          ...VIDEOS.map((v) => `/video/${v}`),
          ...SLIDESHOWS.map((s) => `/slideshows/${s}`),
          ...SECTIONS.map((s) => `/sections/${s}`),
          ...Array.from({ length: stories }, (_, i) => `/stories/${i + 1}`),
        ],
        seededRandom(SEED),
      )
      await eventsSettled(stack.redisUrl)
      const out: SideRun[] = []
      for (let r = 1; r <= rounds; r++) {
        const order: SideName[] = r % 2 === 1 ? ['in front', 'direct'] : ['direct', 'in front']
        for (const side of order) out.push(await runSide(stack, side, r, pages, legacyBase))
      }
      return { runs: out, pages: pages.length }
    })
    const of = (side: SideName) => runs.runs.filter((r) => r.side === side)
    const med = (side: SideName, f: (r: SideRun) => number) => Number(median(of(side).map(f)).toPrecision(3))
    const summary = (side: SideName) => ({
      readerRequests: med(side, (r) => r.readerRequests),
      readerRps: round(med(side, (r) => r.readerRps)),
      errorRate: med(side, (r) => r.errorRate),
      p50Ms: round(med(side, (r) => r.p50Ms)),
      p99Ms: round(med(side, (r) => r.p99Ms)),
      legacyPerReaderRequest: med(side, (r) => r.legacyPerReaderRequest),
      legacyRenders: med(side, (r) => r.legacyRenders),
    })
    const front = summary('in front')
    const direct = summary('direct')
    // Ratios per round (both sides of a round shared the machine), then their median.
    const perRound = (f: (a: SideRun, b: SideRun) => number) => {
      const values = Array.from({ length: rounds }, (_, i) => f(of('direct')[i], of('in front')[i]))
      return { median: Number(median(values).toPrecision(3)), rounds: values.map((v) => Number(v.toPrecision(3))) }
    }
    const ratios = {
      legacyRequestsPerReaderRequestDirectOverFront: perRound((d, f) => d.legacyPerReaderRequest / f.legacyPerReaderRequest),
      p50DirectOverFront: perRound((d, f) => d.p50Ms / f.p50Ms),
      p99DirectOverFront: perRound((d, f) => d.p99Ms / f.p99Ms),
      readerRpsFrontOverDirect: perRound((d, f) => f.readerRps / d.readerRps),
    }
    const line = (name: string, s: typeof front) =>
      `${name.padEnd(9)} ${String(s.readerRequests).padStart(7)} reads/run (${s.readerRps} req/s)  errors ${Number((s.errorRate * 100).toPrecision(2))}%  p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms  legacy renders ${s.legacyRenders}/run = ${s.legacyPerReaderRequest} per reader request`
    return {
      settings: {
        seconds: envInt('BENCH_SECONDS', 30),
        rounds,
        connections: envInt('BENCH_CONNECTIONS', 32),
        pages: runs.pages,
        stories,
        zipfS: ZIPF_S,
        legacyRenderMs: RENDER_MS,
        legacyErrorRate: ERROR_RATE,
        legacyHangRate: 0,
      },
      figures: { inFront: front, direct, ratios, runs: runs.runs },
      summary: [
        `${runs.pages} legacy pages, Zipf s=${ZIPF_S}, ${envInt('BENCH_CONNECTIONS', 32)} readers; the legacy renders in ${RENDER_MS} ms, ${ERROR_RATE * 100}% of renders a 500; medians of ${rounds} rounds:`,
        line('in front', front),
        line('direct', direct),
        `legacy requests per reader request, direct/in front: ${ratios.legacyRequestsPerReaderRequestDirectOverFront.median}x (rounds ${ratios.legacyRequestsPerReaderRequestDirectOverFront.rounds.join(', ')})`,
        `p50 direct/in front: ${ratios.p50DirectOverFront.median}x, p99: ${ratios.p99DirectOverFront.median}x; reads/s in front/direct: ${ratios.readerRpsFrontOverDirect.median}x`,
        ...runs.runs.map((r) => `  round ${r.round} ${r.side.padEnd(8)}: ${r.readerRequests} reads, ${r.readerErrors} errors, p50 ${r.p50Ms} p99 ${r.p99Ms} ms, ${r.legacyRenders} renders (${r.legacyErrors} of them 500s)`),
      ],
    }
  },
}
