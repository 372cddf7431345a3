// Issue 4: what readers see while origins fail. wrk reads one article page through the edge in four phases:
// all healthy; the sidebar service killed (its copies soft-purged, so they are stale); the article service
// frozen (SIGSTOP: it accepts connections and answers nothing; the page's body soft-purged); both back
// (restarted/thawed, hard-purged, so the phase starts cold). Errors and p99 per phase.
import { contentApi, publishedArticles, purgeApi } from '../support/content.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { runWrk, type WrkResult } from '../support/wrk.js'

async function healthOf(stack: BenchStack, backend: string): Promise<string> {
  const edges = await purgeApi(stack)<{ edges: Array<{ admin: { backends: Array<{ name: string; health: string }> } }> }>('GET', '/edges')
  return edges.edges[0].admin.backends.find((b) => b.name.endsWith(`tessera_${backend}`))?.health ?? 'unknown'
}

async function waitForHealth(stack: BenchStack, backend: string, want: string): Promise<void> {
  for (let i = 0; i < 100 && (await healthOf(stack, backend)) !== want; i++) await sleep(100)
}

export const edgeUnderFaults: Scenario = {
  name: 'edge-under-faults',
  description: 'reader errors and p99 at the edge while a fragment origin is killed, frozen and restarted',
  async run() {
    const seconds = envInt('BENCH_SECONDS', 5)
    const connections = envInt('BENCH_CONNECTIONS', 32)
    return withBenchStack({}, async (stack) => {
      const purge = purgeApi(stack)
      const [article] = await publishedArticles(contentApi(stack))
      const url = `${stack.edges[0].url}/articles/${article.slug}`
      const measure = () => runWrk({ url, connections, seconds })
      await fetch(url).then((r) => r.arrayBuffer())

      const phases: Array<{ phase: string; result: WrkResult }> = []
      phases.push({ phase: 'healthy', result: await measure() })

      await stack.killService('sidebar')
      await purge('POST', '/purges', { keys: ['fragment:sidebar'], mode: 'soft' })
      phases.push({ phase: 'sidebar service killed (stale sidebar)', result: await measure() })

      stack.freezeService('article', true)
      await purge('POST', '/purges', { articles: [article.id], mode: 'soft' })
      phases.push({ phase: 'article service frozen (stale body)', result: await measure() })

      stack.freezeService('article', false)
      await stack.startServiceAgain('sidebar')
      await waitForHealth(stack, 'sidebar', 'healthy')
      await waitForHealth(stack, 'article', 'healthy')
      await purge('POST', '/purges', { keys: ['fragment:sidebar'] })
      await purge('POST', '/purges', { articles: [article.id] })
      phases.push({ phase: 'both back, cold (hard-purged)', result: await measure() })

      return {
        settings: { seconds, connections, page: `/articles/${article.slug}` },
        figures: { phases },
        summary: phases.map(
          ({ phase, result: r }) =>
            `${phase.padEnd(42)} ${String(Math.round(r.requestsPerSec)).padStart(6)} req/s  p50 ${r.latencyMs.p50.toFixed(2)} ms  p99 ${r.latencyMs.p99.toFixed(2)} ms  errors ${r.errors}`,
        ),
      }
    })
  },
}
