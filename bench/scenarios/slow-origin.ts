// Issue 6, scenario 6: a slow origin, like the old CMS. Every fragment render waits TESSERA_RENDER_DELAY_MS
// (1500 ms by default). Readers read a small set of warm article pages while an "editor" purges one of those
// articles every second, in two variants run on the same stack, alternating (soft, hard, hard, soft, ...):
//   soft: POST /purges {"articles": [id], "mode": "soft"}: the copy goes stale, grace serves it while one
//         background fetch renders the new one, so readers should stay off the slow path;
//   hard: the same with "mode": "hard": the copy is gone, readers of that page wait for the slow render.
// The editor sends purges only (no content PUT): a PUT's change event triggers the automatic purge, which is
// always hard, and would blur the soft variant. Reader p50/p99/max and the share of requests slower than
// half the render delay ("the slow path"), per variant; medians of rounds; the ratio of p99s.
import type { Article } from '../../content/model.js'
import { eventsSettled } from '../../test/support/wait.js'
import { contentApi, publishedArticles, purgeApi } from '../support/content.js'
import { seededRandom } from '../support/random.js'
import { runReaders } from '../support/readers.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { median, percentile, round } from '../support/stats.js'

type Mode = 'soft' | 'hard'

/** GETs every page (in parallel) until a whole pass answers quickly: all cached, no render pending. */
async function warm(base: string, pages: string[], quickMs: number): Promise<void> {
  const deadline = Date.now() + 120_000
  for (;;) {
    const times = await Promise.all(
      pages.map(async (p) => {
        const t0 = Date.now()
        const res = await fetch(base + p, { signal: AbortSignal.timeout(60_000) })
        await res.arrayBuffer()
        if (res.status !== 200) throw new Error(`${p} answered ${res.status} while warming`)
        return Date.now() - t0
      }),
    )
    if (Math.max(...times) < quickMs) return
    if (Date.now() > deadline) throw new Error('the pages did not become warm within 120 s')
  }
}

interface VariantRun {
  mode: Mode
  round: number
  requests: number
  errors: number
  purges: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** Share of reader requests slower than half the render delay: they waited for an origin render. */
  slowShare: number
  cache: Record<string, number>
}

async function runVariant(stack: BenchStack, articles: Article[], pages: string[], mode: Mode, roundNo: number, delayMs: number): Promise<VariantRun> {
  const seconds = envInt('BENCH_SECONDS', 15)
  const workers = envInt('BENCH_CONNECTIONS', 16)
  const intervalMs = envInt('BENCH_EDIT_INTERVAL_MS', 1000)
  const purges = purgeApi(stack)
  const base = stack.edges[0].url
  await warm(base, pages, Math.max(50, delayMs / 2))

  let editing = true
  let sent = 0
  const editor = (async () => {
    let nextAt = Date.now() + intervalMs / 2
    while (editing) {
      const wait = nextAt - Date.now()
      if (wait > 0) await sleep(wait)
      if (!editing) break
      await purges('POST', '/purges', { articles: [articles[sent % articles.length].id], mode })
      sent++
      nextAt += intervalMs
    }
  })()
  const random = Array.from({ length: workers }, (_, w) => seededRandom(600 + w))
  const readers = await runReaders({
    base,
    workers,
    seconds,
    maxRequests: 2_000_000,
    next: (w) => pages[Math.floor(random[w]() * pages.length)],
    headers: { 'x-tessera-debug': stack.secrets.debugToken },
  })
  editing = false
  await editor
  const ms = readers.latenciesMs
  return {
    mode,
    round: roundNo,
    requests: readers.requests,
    errors: readers.errors,
    purges: sent,
    p50Ms: round(percentile(ms, 50)),
    p99Ms: round(percentile(ms, 99)),
    maxMs: round(Math.max(...ms)),
    slowShare: Math.round((10_000 * ms.filter((t) => t > delayMs / 2).length) / ms.length) / 10_000,
    cache: readers.cache,
  }
}

export const slowOrigin: Scenario = {
  name: 'slow-origin',
  description: 'fragment origins that take 1.5 s to render, edits arriving: reader p99 with soft purges + grace vs hard purges',
  async run() {
    const delayMs = envInt('BENCH_RENDER_DELAY_MS', 1500)
    const rounds = envInt('BENCH_ROUNDS', 2)
    const pageCount = envInt('BENCH_PAGES', 6)
    return withBenchStack({ env: { TESSERA_RENDER_DELAY_MS: String(delayMs) } }, async (stack) => {
      await eventsSettled(stack.redisUrl)
      const articles = (await publishedArticles(contentApi(stack))).slice(0, pageCount)
      const pages = articles.map((a) => `/articles/${a.slug}`)
      // Sanity: the knob is on (a fragment render takes at least the delay).
      const t0 = Date.now()
      await (await fetch(`http://127.0.0.1:${stack.config.ports.nav}/fragments/nav`, { signal: AbortSignal.timeout(30_000) })).arrayBuffer()
      const navMs = Date.now() - t0
      if (navMs < delayMs) throw new Error(`a nav render took ${navMs} ms, less than TESSERA_RENDER_DELAY_MS=${delayMs}: the knob is not applied`)

      const runs: VariantRun[] = []
      for (let r = 1; r <= rounds; r++) {
        const order: Mode[] = r % 2 === 1 ? ['soft', 'hard'] : ['hard', 'soft']
        for (const mode of order) runs.push(await runVariant(stack, articles, pages, mode, r, delayMs))
      }
      const summarise = (mode: Mode) => {
        const rs = runs.filter((r) => r.mode === mode)
        const m = (f: (r: VariantRun) => number) => round(median(rs.map(f)))
        return {
          p50Ms: m((r) => r.p50Ms),
          p99Ms: m((r) => r.p99Ms),
          maxMs: m((r) => r.maxMs),
          slowShare: median(rs.map((r) => r.slowShare)),
          requestsPerRun: m((r) => r.requests),
          purgesPerRun: m((r) => r.purges),
          errors: rs.reduce((s, r) => s + r.errors, 0),
        }
      }
      const soft = summarise('soft')
      const hard = summarise('hard')
      const p99Ratio = round(hard.p99Ms / soft.p99Ms)
      const seconds = envInt('BENCH_SECONDS', 15)
      const line = (name: string, x: ReturnType<typeof summarise>) =>
        `${name.padEnd(5)} p50 ${x.p50Ms} ms  p99 ${x.p99Ms} ms  max ${x.maxMs} ms  slow path ${(100 * x.slowShare).toFixed(2)}% of ${x.requestsPerRun} requests  (${x.purgesPerRun} purges/run, errors ${x.errors})`
      return {
        settings: { renderDelayMs: delayMs, seconds, rounds, workers: envInt('BENCH_CONNECTIONS', 16), pages: pages.length, editIntervalMs: envInt('BENCH_EDIT_INTERVAL_MS', 1000) },
        figures: { soft, hard, ratio: { p99HardOverSoft: p99Ratio }, runs },
        summary: [
          `${pages.length} warm article pages, origins render in ${delayMs} ms (cold nav render measured ${navMs} ms), one article purged every ${envInt('BENCH_EDIT_INTERVAL_MS', 1000)} ms, ${seconds} s per variant`,
          line('soft', soft),
          line('hard', hard),
          `hard/soft reader p99: ${p99Ratio}x (medians of ${rounds} rounds, alternating order); slow path = slower than ${delayMs / 2} ms`,
        ],
      }
    })
  },
}
