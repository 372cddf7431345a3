// Issue 6.7: a page whose fragments all miss. Every fragment service waits TESSERA_RENDER_DELAY_MS before each
// render (a simulation knob; the layout service is not delayed); after a hard purge of the page's shell and
// all its fragments, one reader's page latency is compared with the sum of its includes' delays. Varnish 7.1
// fetches ESI includes one after another, so expect a ratio near 1; well below 1 would mean parallel fetches.
import { eventsSettled } from '../../test/support/wait.js'
import { contentApi, publishedArticles, purgeApi } from '../support/content.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { withBenchStack } from '../support/stack.js'
import { median, percentile, round } from '../support/stats.js'
import { fetchPage, fragmentsOf } from '../support/compare.js'

const PAGE_KEYS = ['fragment:nav', 'fragment:sidebar', 'fragment:article', 'fragment:sections', 'layout:article']

export const coldPage: Scenario = {
  name: 'cold-page',
  description: 'an article page right after a hard purge of its shell and every fragment, each fragment origin taking a fixed delay: page latency vs the sum of the delays',
  async run() {
    const delayMs = envInt('BENCH_RENDER_DELAY_MS', 200)
    const rounds = envInt('BENCH_COLD_ROUNDS', 7)
    return withBenchStack({ edges: 1, env: { TESSERA_RENDER_DELAY_MS: String(delayMs) } }, async (stack) => {
      await eventsSettled(stack.redisUrl)
      const [article] = await publishedArticles(contentApi(stack))
      const pagePath = `/articles/${article.slug}`
      const pageUrl = stack.edges[0].url + pagePath
      const shell = await fetchPage(`http://127.0.0.1:${stack.config.ports.layout}${pagePath}`)
      const includes = [...shell.body.matchAll(/<esi:include\s+src="([^"]+)"/g)].map((m) => m[1])
      const sumOfDelaysMs = includes.length * delayMs
      const purge = purgeApi(stack)

      const time = async () => {
        const started = performance.now()
        const page = await fetchPage(pageUrl)
        const ms = performance.now() - started
        if (page.status !== 200 || page.body.includes('data-fragment-state="unavailable"')) throw new Error(`${pagePath}: status ${page.status} or a fragment fell back`)
        return { ms, fragments: fragmentsOf(page.body).length }
      }
      await time() // fill the cache once, so every round starts from the same purge
      const cold: number[] = []
      const warm: number[] = []
      for (let r = 0; r < rounds; r++) {
        await purge('POST', '/purges', { keys: PAGE_KEYS, mode: 'hard' })
        await sleep(200)
        const c = await time()
        if (c.fragments !== includes.length) throw new Error(`cold page has ${c.fragments} fragments, the shell ${includes.length} includes`)
        cold.push(c.ms)
        warm.push((await time()).ms)
      }
      const pageMs = round(median(cold))
      const ratio = round(pageMs / sumOfDelaysMs)
      return {
        settings: { delayMs, rounds, page: pagePath, purgedKeys: PAGE_KEYS.join(' ') },
        figures: {
          includes: includes.length,
          includeUrls: includes,
          sumOfDelaysMs,
          coldPage: { p50Ms: pageMs, p99Ms: round(percentile(cold, 99)), minMs: round(Math.min(...cold)), maxMs: round(Math.max(...cold)) },
          warmPage: { p50Ms: round(median(warm)), p99Ms: round(percentile(warm, 99)) },
          ratio: { pageOverSumOfDelays: ratio },
          roundsMs: cold.map(round),
        },
        summary: [
          `page ${pagePath}: ${includes.length} includes (${includes.join(', ')}), each fragment origin delayed ${delayMs} ms (shell not delayed)`,
          `cold page: median ${pageMs} ms (min ${round(Math.min(...cold))}, max ${round(Math.max(...cold))}) vs sum of delays ${sumOfDelaysMs} ms -> ratio ${ratio}`,
          `warm page right after: median ${round(median(warm))} ms`,
          `${rounds} rounds, each after a hard purge of ${PAGE_KEYS.join(' ')}`,
        ],
      }
    })
  },
}
