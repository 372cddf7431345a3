import { Redis } from 'ioredis'
import t from 'tap'
import { counters, get } from '../support/edge.js'
import { metrics, sample } from '../support/metrics.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled, until } from '../support/wait.js'

const stack = await startTestStack(t)
const edge = stack.edges[0]
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const navService = `http://127.0.0.1:${stack.config.ports.nav}`
const ops = { authorization: `Bearer ${stack.secrets.opsToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }

async function stats(): Promise<any> {
  const res = await fetch(`${purgeApi}/stats`, { headers: ops })
  if (res.status !== 200) throw new Error(`GET /stats answered ${res.status}: ${await res.text()}`)
  return (await res.json()).edges[0]
}

/** Deliveries of one kind so far (totals). */
const served = (s: { hits: number; misses: number; graceHits: number; passes: number }) => s.hits + s.misses + s.graceHits + s.passes

const { json: list } = await fetch(`http://127.0.0.1:${stack.config.ports.content}/articles?limit=100`, { headers: { authorization: `Bearer ${stack.secrets.editorToken}` } }).then(async (r) => ({ json: (await r.json()) as any }))
const article = list.items.find((a: any) => a.publishedAt && Date.parse(a.publishedAt) <= Date.now())

// The seed's change events are purged before we start; then the edge log reader must be attached (it starts
// with the purge service): read the sidebar until GET /stats has seen it.
await eventsSettled(stack.redisUrl)
await until('the purge service to read the edge log', async () => {
  await get(edge.url, '/fragments/sidebar')
  return served((await stats()).fragments.sidebar) > 0
})

t.test('a known sequence of requests gives the expected per-fragment counts in GET /stats', async (t) => {
  const before = await stats()
  const navRendersBefore = sample(await metrics(navService), 'tessera_renders_total', { fragment: 'nav' })
  const purgesSentBefore = sample(await metrics(purgeApi), 'tessera_purges_sent_total', { node: edge.url, result: 'ok' })!
  const vbeBefore = await counters(edge, 'VBE.boot.tessera_nav.req', 'VBE.boot.tessera_sections.req')
  t.same(before.fragments.nav, { ...before.fragments.nav, hits: 0, misses: 0, graceHits: 0, passes: 0, originFetches: 0, purgesReceived: 0 }, 'nothing has asked for nav yet')
  t.equal(navRendersBefore, 0)

  // nav: one miss, then three hits
  const cache: string[] = []
  for (let i = 0; i < 4; i++) cache.push((await get(edge.url, '/fragments/nav', debug)).headers.get('x-tessera-cache') ?? '')
  t.same(cache, ['miss', 'hit', 'hit', 'hit'])

  // an article page, twice: the first is assembled (page tier): it fetches the shell, the body and its editor
  // slots (nav and sidebar for the site, its section and itself; main for its section and itself: 8), and finds
  // nav and the sidebar cached; the second is one page-tier hit, no fragment looked up
  for (let i = 0; i < 2; i++) t.equal((await get(edge.url, `/articles/${article.slug}`)).status, 200)

  // a soft purge of nav, then one reader gets the stale copy (grace) while it refreshes, then a fresh hit
  const purge = await fetch(`${purgeApi}/purges`, { method: 'POST', headers: { ...ops, 'content-type': 'application/json' }, body: JSON.stringify({ keys: ['nav'], mode: 'soft' }) })
  t.equal(purge.status, 200)
  t.equal((await get(edge.url, '/fragments/nav', debug)).headers.get('x-tessera-cache'), 'grace')
  await until('the background refresh of nav', async () => (await stats()).fragments.nav.originFetches === 2)
  t.equal((await get(edge.url, '/fragments/nav', debug)).headers.get('x-tessera-cache'), 'hit')

  // a page that does not exist: a notFound page, assembled from includes all cached
  t.equal((await get(edge.url, '/articles/no-such-article')).status, 404)

  const expected = {
    nav: { hits: 3 + 1 + 1 + 1, misses: 1, graceHits: 1, originFetches: 2, purgesReceived: 1 },
    article: { hits: 0, misses: 1, graceHits: 0, originFetches: 1, purgesReceived: 0 },
    sections: { hits: 2, misses: 8, graceHits: 0, originFetches: 8, purgesReceived: 0 },
    sidebar: { hits: 1 + 1, misses: 0, graceHits: 0, originFetches: 0, purgesReceived: 0 },
  }
  // (the nav purge reached the article page too: the page tier's copy includes nav)
  const pages = {
    home: { hits: 0, misses: 0, graceHits: 0, originFetches: 0, purgesReceived: 0 },
    article: { hits: 1, misses: 1, graceHits: 0, originFetches: 1, purgesReceived: 1 },
    section: { hits: 0, misses: 0, graceHits: 0, originFetches: 0, purgesReceived: 0 },
    notFound: { hits: 0, misses: 1, graceHits: 0, originFetches: 1, purgesReceived: 0 },
  }
  const total = [...Object.values(expected), ...Object.values(pages)].reduce((n, e) => n + e.hits + e.misses + e.graceHits, 0)
  const delta = (now: any, then: any) => Object.fromEntries(Object.keys(now).filter((k) => typeof now[k] === 'number' && k !== 'hitRatio' && k !== 'originFetchMsP50').map((k) => [k, now[k] - then[k]]))
  const sum = (s: any) => [...Object.values(s.fragments), ...Object.values(s.pages)].reduce((n: number, k: any) => n + served(k), 0)
  await until('every delivery in GET /stats', async () => sum(await stats()) - sum(before) >= total)
  await new Promise((r) => setTimeout(r, 500)) // and nothing more arrives
  const after = await stats()

  for (const [name, want] of Object.entries(expected)) {
    t.same(delta(after.fragments[name], before.fragments[name]), { ...want, passes: 0, originErrors: 0 }, `fragment ${name}`)
  }
  for (const [name, want] of Object.entries(pages)) {
    t.same(delta(after.pages[name], before.pages[name]), { ...want, passes: 0, originErrors: 0 }, `page ${name}`)
  }
  t.equal(after.fragments.nav.hitRatio, Math.round((7 / 8) * 10_000) / 10_000, 'nav: 7 of 8 deliveries from cache')
  t.equal(after.fragments.nav.window.graceHits, 1, 'the sliding window has them too')
  t.ok(after.fragments.nav.originFetchMsP50 > 0 && after.fragments.nav.originFetchMsP50 < 2000, `nav origin fetch p50 ${after.fragments.nav.originFetchMsP50} ms`)

  // varnishd's own counters agree: requests to the nav and sections backends are the fetches we counted
  const vbeAfter = await counters(edge, 'VBE.boot.tessera_nav.req', 'VBE.boot.tessera_sections.req')
  t.equal(after.counters.backends.nav.req - before.counters.backends.nav.req, 2, 'varnishstat: 2 nav backend requests')
  t.equal(vbeAfter['VBE.boot.tessera_nav.req'] - vbeBefore['VBE.boot.tessera_nav.req'], 2)
  t.equal(vbeAfter['VBE.boot.tessera_sections.req'] - vbeBefore['VBE.boot.tessera_sections.req'], 8)
  t.ok(after.counters.main.n_object >= 8, `objects in cache: ${after.counters.main.n_object}`)
  t.equal(after.source.workDir, edge.workDir)

  // and the nav service rendered exactly once per origin fetch: the miss and the background refresh
  const navMetrics = await metrics(navService)
  t.equal(sample(navMetrics, 'tessera_renders_total', { fragment: 'nav', service: 'fragment-nav' }), 2, 'renders_total{fragment="nav"} went up by the fetches')
  t.equal(sample(navMetrics, 'tessera_render_failures_total', { fragment: 'nav' }), 0)
  t.equal(sample(navMetrics, 'tessera_render_duration_seconds_count', { fragment: 'nav' }), 2)
  t.equal(sample(navMetrics, 'tessera_http_request_duration_seconds_count', { route: '/fragments/nav', status: '200', method: 'GET' }), 2)
  t.ok((sample(navMetrics, 'process_cpu_user_seconds_total') ?? 0) > 0, 'default process metrics')
  t.ok(sample(navMetrics, 'nodejs_eventloop_lag_seconds') !== undefined)
  const purgeMetrics = await metrics(purgeApi)
  t.equal(sample(purgeMetrics, 'tessera_purges_sent_total', { node: edge.url, result: 'ok' })! - purgesSentBefore, 1, 'purge service: the one purge, acknowledged')
})

t.test('the purge service exports the purge path and the edge figures as Prometheus metrics', async (t) => {
  const text = await metrics(purgeApi)
  t.equal(sample(text, 'tessera_purge_queue_length', { node: edge.url }), 0)
  const redis = new Redis(stack.redisUrl)
  const events = await redis.xlen('tessera:events').finally(() => redis.disconnect())
  t.ok(events > 0)
  t.equal(sample(text, 'tessera_events_processed_total'), events, 'every change event of the seed')
  t.equal(sample(text, 'tessera_edge_requests_total', { node: edge.url, group: 'fragment', name: 'nav', cache: 'hit' }), 6)
  t.equal(sample(text, 'tessera_edge_requests_total', { node: edge.url, group: 'fragment', name: 'nav', cache: 'grace' }), 1)
  t.equal(sample(text, 'tessera_edge_origin_fetch_seconds_count', { node: edge.url, group: 'fragment', name: 'nav' }), 2)
  t.equal(sample(text, 'tessera_edge_purges_received_total', { node: edge.url, group: 'fragment', name: 'nav' }), 1)
  t.ok(sample(text, 'tessera_http_request_duration_seconds_count', { route: '/stats', status: '200' })! > 0)
})

t.test('GET /stats is for ops; /metrics never leaves through the edge', async (t) => {
  t.equal((await fetch(`${purgeApi}/stats`)).status, 401)
  const editor = await fetch(`${purgeApi}/stats`, { headers: { authorization: `Bearer ${stack.secrets.editorToken}` } })
  t.equal(editor.status, 403)
  t.equal(((await editor.json()) as any).error.code, 'TESSERA_FORBIDDEN')
  t.equal((await get(edge.url, '/metrics')).status, 404)
})

t.test('a page and its fragment fetches share one request id', async (t) => {
  const page = await get(edge.url, `/articles/${article.slug}`, { 'x-request-id': 'ops-test-page-1' })
  t.equal(page.headers.get('x-request-id'), 'ops-test-page-1', 'a well-formed id is kept')
  const other = await get(edge.url, `/articles/${article.slug}`, { 'x-request-id': 'not ok; spaces' })
  t.match(other.headers.get('x-request-id'), /^[0-9]+$/, 'else the edge names it (its xid)')
})
