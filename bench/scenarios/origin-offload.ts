// Issue 6, scenario 3: what targeted purges save the origin. Readers with Zipf popularity (s = 1.0) over the
// demo articles plus ~1000 created for the run (and the home and section pages), an editor changing article
// bodies at a steady rate. Two ways of purging, on the same stack, reset (everything banned) between them:
//   targeted: the normal path, the change event purges the keys the edit touched;
//   clear-all: the old way, every edit also bans every object at the edge (POST /bans {"regex": "^/"}).
// Same seeded reader sequence for both; rounds alternate the order (a/b, b/a, ...). Edge hit ratio and origin
// fetches per reader request from varnishstat deltas (ESI sub-requests included), page-level verdicts from
// X-Tessera-Cache.
import type { Article, Section } from '../../content/model.js'
import { eventsSettled } from '../../test/support/wait.js'
import { articleInput, type Call, contentApi, publishedArticles, purgeApi } from '../support/content.js'
import { type Counters, delta, settledCounters } from '../support/edge-counters.js'
import { seededRandom, shuffled, zipfSampler } from '../support/random.js'
import { runReaders } from '../support/readers.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { median, percentile, round } from '../support/stats.js'

const ZIPF_S = 1.0
const SEED = 6

type Variant = 'targeted' | 'clear-all'

/** Creates published articles `bench-<i>` through the content API, `parallel` PUTs at a time. */
async function createArticles(content: Call, count: number, sections: Section[], parallel: number): Promise<Article[]> {
  const created: Article[] = []
  const publishedAt = new Date(Date.now() - 2 * 86_400_000).toISOString()
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, (_, j) => start + j)
    created.push(
      ...(await Promise.all(
        batch.map((i) =>
          content<Article>('PUT', `/articles/bench-${i}`, {
            slug: `bench-${i}`,
            title: `Benchmark article ${i}`,
            section: sections[i % sections.length].slug,
            body: `Article ${i}, written by the origin-offload benchmark.\n\nA second paragraph so the body is not trivial.`,
            summary: `Benchmark article number ${i}.`,
            author: 'Bench',
            publishedAt,
          }),
        ),
      )),
    )
  }
  return created
}

interface VariantRun {
  variant: Variant
  round: number
  readerRequests: number
  readerErrors: number
  readerRps: number
  edits: number
  editErrors: number
  p50Ms: number
  p99Ms: number
  /** varnishstat: cache_hit / (cache_hit + cache_miss), ESI sub-requests included. */
  edgeHitRatio: number
  /** varnishstat: backend_req delta / reader requests. */
  originPerReaderRequest: number
  /** X-Tessera-Cache of the page (shell) object: hit / all. */
  pageHitRatio: number
  counters: Pick<Counters, 'cache_hit' | 'cache_miss' | 'cache_hit_grace' | 'backend_req' | 'client_req' | 'bans_added'>
}

async function runVariant(stack: BenchStack, articles: Article[], pages: string[], variant: Variant, roundNo: number): Promise<VariantRun> {
  const seconds = envInt('BENCH_SECONDS', 20)
  const warmupSeconds = envInt('BENCH_WARMUP_SECONDS', 5)
  const workers = envInt('BENCH_CONNECTIONS', 16)
  const editsPerSec = envInt('BENCH_EDITS_PER_SEC', 2)
  const content = contentApi(stack)
  const purges = purgeApi(stack)
  const edge = stack.edges[0]

  // Reset: nothing cached, no purge work pending, then the same warm-up (readers only) for both variants.
  await eventsSettled(stack.redisUrl)
  await purges('POST', '/bans', { regex: '^/' })
  const readerPaths = () => {
    const samplers = Array.from({ length: workers }, (_, w) => zipfSampler(pages.length, ZIPF_S, seededRandom(SEED * 1000 + w)))
    return (w: number) => pages[samplers[w]()]
  }
  await runReaders({ base: edge.url, workers, seconds: warmupSeconds, maxRequests: 200_000, next: readerPaths() })

  // The editor: `editsPerSec` body edits per second of Zipf-chosen articles (popular news gets edited), for
  // as long as the readers run. clear-all also bans everything after each edit.
  const editRank = zipfSampler(articles.length, ZIPF_S, seededRandom(SEED))
  let editing = true
  let edits = 0
  let editErrors = 0
  const editor = (async () => {
    const gapMs = 1000 / editsPerSec
    let nextAt = Date.now()
    while (editing) {
      const a = articles[editRank()]
      try {
        await content('PUT', `/articles/${a.id}`, { ...articleInput(a), body: `${a.body}\n\nEdit ${variant} ${roundNo}-${edits}.` })
        if (variant === 'clear-all') await purges('POST', '/bans', { regex: '^/' })
      } catch {
        editErrors++
      }
      edits++
      nextAt += gapMs
      const wait = nextAt - Date.now()
      if (wait > 0) await sleep(wait)
    }
  })()

  const before = await settledCounters(edge)
  const readers = await runReaders({
    base: edge.url,
    workers,
    seconds,
    maxRequests: 2_000_000,
    next: readerPaths(),
    headers: { 'x-tessera-debug': stack.secrets.debugToken },
  })
  editing = false
  await editor
  const after = await settledCounters(edge)
  const d = delta(before, after)
  const hits = d['MAIN.cache_hit'] ?? 0
  const misses = d['MAIN.cache_miss'] ?? 0
  const verdicts = Object.values(readers.cache).reduce((s, n) => s + n, 0)
  return {
    variant,
    round: roundNo,
    readerRequests: readers.requests,
    readerErrors: readers.errors,
    readerRps: round(readers.requests / readers.seconds),
    edits,
    editErrors,
    p50Ms: round(percentile(readers.latenciesMs, 50)),
    p99Ms: round(percentile(readers.latenciesMs, 99)),
    edgeHitRatio: Math.round((1000 * hits) / (hits + misses)) / 1000,
    originPerReaderRequest: Math.round((1000 * d['MAIN.backend_req']) / readers.requests) / 1000,
    pageHitRatio: Math.round((1000 * (readers.cache.hit ?? 0)) / verdicts) / 1000,
    counters: {
      cache_hit: hits,
      cache_miss: misses,
      cache_hit_grace: d['MAIN.cache_hit_grace'] ?? 0,
      backend_req: d['MAIN.backend_req'] ?? 0,
      client_req: d['MAIN.client_req'] ?? 0,
      bans_added: d['MAIN.bans_added'] ?? 0,
    },
  }
}

export const originOffload: Scenario = {
  name: 'origin-offload',
  description: 'Zipf readers over ~1000 articles + an editor at a steady rate: targeted purges vs clearing everything on each change',
  async run() {
    const articleTarget = envInt('BENCH_ARTICLES', 1000)
    const rounds = envInt('BENCH_ROUNDS', 2)
    return withBenchStack({}, async (stack) => {
      const content = contentApi(stack)
      await eventsSettled(stack.redisUrl)
      const demo = await publishedArticles(content)
      const sections = (await content<{ items: Section[] }>('GET', '/sections')).items
      const createStarted = Date.now()
      const created = await createArticles(content, Math.max(0, articleTarget - demo.length), sections, 32)
      const createSec = (Date.now() - createStarted) / 1000
      await eventsSettled(stack.redisUrl, 60_000)
      // Popularity: the home page first, then the section pages, then the articles in a seeded order.
      const articles = shuffled([...demo, ...created].sort((a, b) => a.id.localeCompare(b.id)), seededRandom(SEED))
      const pages = ['/', ...sections.map((s) => `/sections/${s.slug}`), ...articles.map((a) => `/articles/${a.slug}`)]
      // Sanity: a page of a created article assembles.
      const probe = await fetch(`${stack.edges[0].url}/articles/${created[0]?.slug ?? demo[0].slug}`, { signal: AbortSignal.timeout(10_000) })
      if (probe.status !== 200) throw new Error(`a created article's page answered ${probe.status}`)
      await probe.arrayBuffer()

      const runs: VariantRun[] = []
      for (let r = 1; r <= rounds; r++) {
        const order: Variant[] = r % 2 === 1 ? ['targeted', 'clear-all'] : ['clear-all', 'targeted']
        for (const v of order) runs.push(await runVariant(stack, articles, pages, v, r))
      }
      const summarise = (v: Variant) => {
        const rs = runs.filter((r) => r.variant === v)
        const m = (f: (r: VariantRun) => number) => round(median(rs.map(f)))
        const m3 = (f: (r: VariantRun) => number) => median(rs.map(f))
        return {
          edgeHitRatio: m3((r) => r.edgeHitRatio),
          originPerReaderRequest: m3((r) => r.originPerReaderRequest),
          pageHitRatio: m3((r) => r.pageHitRatio),
          readerRps: m((r) => r.readerRps),
          p50Ms: m((r) => r.p50Ms),
          p99Ms: m((r) => r.p99Ms),
          editsPerRun: m((r) => r.edits),
          readerErrors: rs.reduce((s, r) => s + r.readerErrors, 0),
          editErrors: rs.reduce((s, r) => s + r.editErrors, 0),
        }
      }
      const targeted = summarise('targeted')
      const clearAll = summarise('clear-all')
      const offload = round(clearAll.originPerReaderRequest / targeted.originPerReaderRequest)
      const s = runs[0]
      const seconds = envInt('BENCH_SECONDS', 20)
      const line = (name: string, x: ReturnType<typeof summarise>) =>
        `${name.padEnd(10)} edge hit ratio ${x.edgeHitRatio.toFixed(3)}  origin fetches/reader req ${x.originPerReaderRequest}  page hit ${x.pageHitRatio.toFixed(3)}  ${x.readerRps} req/s  p50 ${x.p50Ms} ms  p99 ${x.p99Ms} ms  (${x.editsPerRun} edits/run, errors ${x.readerErrors}/${x.editErrors})`
      return {
        settings: {
          articles: articles.length,
          pages: pages.length,
          zipfS: ZIPF_S,
          seed: SEED,
          seconds,
          warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 5),
          workers: envInt('BENCH_CONNECTIONS', 16),
          editsPerSec: envInt('BENCH_EDITS_PER_SEC', 2),
          rounds,
          clearAll: 'POST /bans {"regex":"^/"} after every edit',
        },
        figures: { targeted, clearAll, ratio: { originFetchesClearAllOverTargeted: offload }, articlesCreatedInSec: round(createSec), runs },
        summary: [
          `${articles.length} articles (${created.length} created in ${round(createSec)} s), ${pages.length} pages, Zipf s=${ZIPF_S}; ${s ? s.edits : 0} edits in a ${seconds} s run`,
          line('targeted', targeted),
          line('clear-all', clearAll),
          `clear-all costs the origin ${offload}x the fetches per reader request of targeted purges (medians of ${rounds} rounds, alternating order)`,
        ],
      }
    })
  },
}
