// Issue 14: the shield tier. Two stacks of three edge nodes each, one without and one with the shield
// (TESSERA_SHIELD), the same seeded reader sequence on both:
//   1. origin requests per reader request: the edges start cold, Zipf readers (s = 1.0) over the pages spread over
//      the three edges, an editor changing article bodies at a steady rate (each change purged, refilled);
//   2. a cold edge joining under load: a fourth edge started while the readers go on, then read through (every
//      page once, then Zipf readers on it); the origin requests it causes, and the distinct objects it served;
//   3. publish-to-fresh with the shield: time from an article PUT until all three edges serve the new body.
// Origin requests are varnishstat's VBE counters of the origin backends on every node (edges and shield), so a
// page's includes count, and an edge's fetches from the shield do not.
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import type { Article, Section } from '../../content/model.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { eventsSettled } from '../../test/support/wait.js'
import { articleInput, type Call, contentApi, publishedArticles } from '../support/content.js'
import { backendFetches, settledCounters } from '../support/edge-counters.js'
import { seededRandom, zipfSampler } from '../support/random.js'
import { runReaders } from '../support/readers.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { percentile, round } from '../support/stats.js'

const ORIGINS = ['layout', 'nav', 'sidebar', 'article', 'sections']
const SEED = 14
const POLL_MS = 2
const EDIT_TIMEOUT_MS = 5000
const GOAL_P99_MS = 50

type Side = 'without shield' | 'with shield'

async function originRequests(nodes: EdgeNode[]): Promise<number> {
  let sum = 0
  for (const node of nodes) {
    const fetches = backendFetches(await settledCounters(node))
    for (const o of ORIGINS) sum += fetches[o] ?? 0
  }
  return sum
}

/** The editor: article body edits at `perSecond`, Zipf-chosen, until `running()` says stop. */
async function editor(content: Call, articles: Article[], perSecond: number, running: () => boolean): Promise<number> {
  const pick = zipfSampler(articles.length, 1.0, seededRandom(SEED))
  let edits = 0
  let nextAt = Date.now()
  while (running()) {
    const a = articles[pick()]
    await content('PUT', `/articles/${a.id}`, { ...articleInput(a), body: `${a.body}\n\nShield bench edit ${edits}.` })
    edits++
    nextAt += 1000 / perSecond
    await sleep(Math.max(0, nextAt - Date.now()))
  }
  return edits
}

async function run(stack: BenchStack, side: Side) {
  const seconds = envInt('BENCH_SECONDS', 15)
  const joinSeconds = envInt('BENCH_JOIN_SECONDS', 5)
  const workers = envInt('BENCH_CONNECTIONS', 6)
  const editsPerSec = envInt('BENCH_EDITS_PER_SEC', 2)
  const content = contentApi(stack)
  await eventsSettled(stack.redisUrl)
  const articles = (await publishedArticles(content)).slice(0, 30)
  const sections = (await content<{ items: Section[] }>('GET', '/sections')).items
  const pages = ['/', ...articles.map((a) => `/articles/${a.slug}`), ...sections.map((s) => `/sections/${s.slug}`)]
  const nodes = () => [...stack.edges, ...stack.shields]
  const zipfReaders = (base: string, count: number, salt: number, secs: number, stop?: Promise<unknown>) => {
    const samplers = Array.from({ length: count }, (_, w) => zipfSampler(pages.length, 1.0, seededRandom(SEED * 1000 + salt * 100 + w)))
    return runReaders({ base, workers: count, seconds: secs, maxRequests: 2_000_000, next: (w) => pages[samplers[w]()], stop })
  }

  // 1. three cold edges under Zipf readers and an editor
  const before = await originRequests(nodes())
  let editing = true
  const edits = editor(content, articles, editsPerSec, () => editing)
  const loads = await Promise.all(stack.edges.map((e, i) => zipfReaders(e.url, Math.max(1, Math.round(workers / 3)), i, seconds)))
  editing = false
  const editCount = await edits
  await eventsSettled(stack.redisUrl)
  const origin = (await originRequests(nodes())) - before
  const readerRequests = loads.reduce((s, l) => s + l.requests, 0)
  const readerErrors = loads.reduce((s, l) => s + l.errors, 0)
  // Per 1,000 reader requests: per reader request the figure is a few thousandths, which round() (2 decimals) shows as 0.
  const steady = { readerRequests, readerErrors, edits: editCount, originRequests: origin, originPer1000ReaderRequests: round((1000 * origin) / readerRequests) }

  // 2. a cold edge joins while the three keep serving
  const [port, adminPort, innerPort] = await freePorts(3)
  let stopBackground!: () => void
  const stopped = new Promise<void>((r) => (stopBackground = r))
  const background = Promise.all(stack.edges.map((e, i) => zipfReaders(e.url, 1, 10 + i, 600, stopped)))
  const tierBefore = await originRequests(stack.shields)
  const othersBefore = await originRequests(stack.edges)
  const cold = await stack.startLooseEdge('edge-joining', { port, adminPort, innerPort })
  const pool = new Pool(cold.url, { connections: 4 })
  let joinErrors = 0
  for (const path of pages) {
    const res = await pool.request({ method: 'GET', path })
    await res.body.dump()
    if (res.statusCode !== 200) joinErrors++
  }
  await pool.close()
  const joinLoad = await zipfReaders(cold.url, 2, 20, joinSeconds)
  stopBackground()
  await background
  const coldCounters = await settledCounters(cold)
  const coldFetches = backendFetches(coldCounters)
  const byJoiningNode = ORIGINS.reduce((s, o) => s + (coldFetches[o] ?? 0), 0)
  const byShieldMeanwhile = (await originRequests(stack.shields)) - tierBefore
  const join = {
    distinctPages: pages.length,
    readerRequests: pages.length + joinLoad.requests,
    readerErrors: joinErrors + joinLoad.errors,
    originRequestsByTheJoiningNode: byJoiningNode,
    originRequestsByTheShieldMeanwhile: byShieldMeanwhile,
    originRequestsByTheOtherEdgesMeanwhile: (await originRequests(stack.edges)) - othersBefore,
    fetchesFromTheShield: Object.entries(coldFetches).reduce((sum, [backend, n]) => sum + (backend.startsWith('shield_') ? n : 0), 0),
    objectsHeld: coldCounters['MAIN.n_object'] ?? 0,
  }

  // 3. publish-to-fresh at all three edges (the joining one is not purged: it is not in the edge set)
  let freshness: Record<string, unknown> | undefined
  if (side === 'with shield') {
    const count = envInt('BENCH_EDITS', 100)
    const pools = stack.edges.map((e) => new Pool(e.url, { connections: 2 }))
    const samples: number[] = []
    let timeouts = 0
    try {
      await eventsSettled(stack.redisUrl)
      for (let n = 0; n < count; n++) {
        const a = articles[n % 10]
        for (const p of pools) await (await p.request({ method: 'GET', path: `/fragments/article/${a.id}` })).body.dump()
        await sleep(stack.config.purge.coalesceMs + 10)
        const marker = `fresh-shield-${Date.now().toString(36)}-${n}`
        const started = performance.now()
        const deadline = started + EDIT_TIMEOUT_MS
        const firstSeen = async (p: Pool) => {
          while (performance.now() < deadline) {
            const res = await p.request({ method: 'GET', path: `/fragments/article/${a.id}` })
            if ((await res.body.text()).includes(marker)) return performance.now()
            await sleep(POLL_MS)
          }
          return NaN
        }
        const [, seen] = await Promise.all([content('PUT', `/articles/${a.id}`, { ...articleInput(a), body: `${a.body}\n\nUpdated: ${marker}.` }), Promise.all(pools.map(firstSeen))])
        if (seen.some(Number.isNaN)) timeouts++
        samples.push(Math.max(...seen.map((t) => (Number.isNaN(t) ? EDIT_TIMEOUT_MS : t - started))))
      }
    } finally {
      await Promise.all(pools.map((p) => p.close()))
    }
    freshness = {
      edits: count,
      edges: stack.edges.length,
      timeouts,
      ms: { p50: round(percentile(samples, 50)), p90: round(percentile(samples, 90)), p99: round(percentile(samples, 99)), max: round(Math.max(...samples)) },
      goalP99Ms: GOAL_P99_MS,
      goalMet: percentile(samples, 99) < GOAL_P99_MS && timeouts === 0,
    }
  }
  return { side, steady, join, freshness }
}

export const shield: Scenario = {
  name: 'shield',
  description: 'three edges without and with the shield tier: origin requests per reader request, a cold edge joining under load, publish-to-fresh at every edge',
  async run() {
    const without = await withBenchStack({ edges: 3 }, (stack) => run(stack, 'without shield'))
    const withShield = await withBenchStack({ edges: 3, shield: true }, (stack) => run(stack, 'with shield'))
    const f = withShield.freshness as { edits: number; timeouts: number; ms: Record<string, number>; goalMet: boolean }
    // The ratio of the unrounded rates (the rounded ones can both be 0.0x).
    const originRatio = round((withShield.steady.originRequests / withShield.steady.readerRequests) / (without.steady.originRequests / without.steady.readerRequests))
    const line = (r: typeof without) =>
      `  ${r.side.padEnd(15)} ${String(r.steady.readerRequests).padStart(7)} reader requests, ${r.steady.edits} edits: ${r.steady.originRequests} origin requests = ${r.steady.originPer1000ReaderRequests} per 1,000 reader requests (${r.steady.readerErrors} errors)`
    const joinLine = (r: typeof without) =>
      `  ${r.side.padEnd(15)} joining edge: ${r.join.readerRequests} reads (${r.join.distinctPages} distinct pages), ${r.join.originRequestsByTheJoiningNode} origin requests by it` +
      (r.side === 'with shield' ? `, ${r.join.originRequestsByTheShieldMeanwhile} by the shield meanwhile, ${r.join.fetchesFromTheShield} fetches from the shield` : '') +
      `, ${r.join.originRequestsByTheOtherEdgesMeanwhile} by the other edges meanwhile (${r.join.readerErrors} errors)`
    return {
      settings: {
        seconds: envInt('BENCH_SECONDS', 15),
        joinSeconds: envInt('BENCH_JOIN_SECONDS', 5),
        connections: envInt('BENCH_CONNECTIONS', 6),
        editsPerSec: envInt('BENCH_EDITS_PER_SEC', 2),
        freshnessEdits: envInt('BENCH_EDITS', 100),
        edges: 3,
      },
      figures: { without, withShield, originRatio },
      summary: [
        'origin requests per 1,000 reader requests, three edges starting cold:',
        line(without),
        line(withShield),
        `  ratio with/without: ${originRatio}`,
        'a cold edge joining under load:',
        joinLine(without),
        joinLine(withShield),
        `publish-to-fresh with the shield, all ${withShield.freshness?.edges} edges: p50 ${f.ms.p50} ms  p90 ${f.ms.p90} ms  p99 ${f.ms.p99} ms  max ${f.ms.max} ms (${f.edits} edits, ${f.timeouts} timeouts; goal p99 < ${GOAL_P99_MS} ms: ${f.goalMet ? 'met' : 'NOT met'})`,
      ],
    }
  },
}
