// Fault injection against the real stack: a fragment service killed, frozen (answers nothing) and
// restarted, and Redis stopped, while readers keep reading through the edge.
import t from 'tap'
import { get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { until } from '../support/wait.js'

const stack = await startTestStack(t)
const edge = stack.edges[0]
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}`, 'content-type': 'application/json' }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }

const articles = (await (await fetch(`${contentApi}/articles?limit=100`, { headers: editor })).json()).items.filter(
  (a: { publishedAt?: string }) => a.publishedAt && Date.parse(a.publishedAt) < Date.now(),
)
const pages = ['/', `/articles/${articles[0].slug}`, `/articles/${articles[1].slug}`, '/sections/news']

async function purge(body: unknown): Promise<void> {
  const res = await fetch(`${purgeApi}/purges`, { method: 'POST', headers: editor, body: JSON.stringify(body) })
  if (res.status !== 200) throw new Error(`purge answered ${res.status}: ${await res.text()}`)
}

async function backendHealth(name: string): Promise<string> {
  const edges = (await (await fetch(`${purgeApi}/edges`, { headers: editor })).json()).edges
  return edges[0].admin.backends.find((b: { name: string }) => b.name.endsWith(`tessera_${name}`))?.health
}

/** Readers hammering pages until stopped; every answer's status and body is kept. */
function readers(count: number) {
  const seen: Array<{ status: number; body: string; ms: number }> = []
  let running = true
  const loops = Array.from({ length: count }, async (_, i) => {
    for (let n = i; running; n++) {
      const started = performance.now()
      const res = await get(edge.url, pages[n % pages.length])
      seen.push({ status: res.status, body: res.body, ms: performance.now() - started })
    }
  })
  return {
    seen,
    async stop() {
      running = false
      await Promise.all(loops)
      return seen
    },
  }
}

for (const page of pages) await get(edge.url, page)

t.test('a killed fragment service: readers see no error and the page keeps its stale fragment', async (t) => {
  const load = readers(4)
  await stack.killService('sidebar')
  await purge({ keys: ['fragment:sidebar'], mode: 'soft' }) // every sidebar copy is stale now
  await new Promise((r) => setTimeout(r, 3000))
  t.equal(await backendHealth('sidebar'), 'sick', 'the probe marked it sick')
  const seen = await load.stop()
  t.ok(seen.length > 50, `${seen.length} page reads while the sidebar service was down`)
  t.same(seen.filter((r) => r.status !== 200).map((r) => r.status), [], 'no reader got an error')
  t.equal(seen.filter((r) => !/<aside data-fragment="sidebar" class="sidebar">/.test(r.body)).length, 0, 'every page kept the (stale) sidebar')
  const direct = await get(edge.url, '/fragments/sidebar', debug)
  t.ok(Number(direct.headers.get('x-tessera-ttl-left')) <= 0, 'served from the stale window')

  await stack.startServiceAgain('sidebar')
  await until('the probe to see the sidebar service again', async () => (await backendHealth('sidebar')) === 'healthy', 10_000)
  await purge({ keys: ['fragment:sidebar'] })
  const fresh = await get(edge.url, '/fragments/sidebar', debug)
  t.equal(fresh.status, 200)
  t.ok(Number(fresh.headers.get('x-tessera-ttl-left')) > 60, 'a fresh copy after the restart')
})

t.test('a fragment that answers nothing costs a page at most its timeout, then its fallback or stale copy', async (t) => {
  const uncached = articles[5]
  stack.freezeService('article', true)
  t.teardown(() => stack.freezeService('article', false))
  const started = performance.now()
  const page = await get(edge.url, `/articles/${uncached.slug}`)
  const ms = performance.now() - started
  t.equal(page.status, 200, 'the page is still delivered')
  t.match(page.body, 'This article is temporarily unavailable', "the article fragment's own fallback")
  t.match(page.body, 'data-fragment="nav"', 'with the rest of the page')
  t.ok(ms < 4500, `answered in ${Math.round(ms)} ms: the 2 s first-byte timeout, not the frozen service, bounds it`)

  await until('the probe to mark the frozen article service sick', async () => (await backendHealth('article')) === 'sick', 10_000)
  const required = await get(edge.url, `/articles/${articles[6].slug}`)
  t.equal(required.status, 503, 'the article body is required: with its origin sick and no copy, a proper 503 page')
  t.match(required.body, 'Temporarily unavailable')

  await purge({ articles: [articles[0].id], mode: 'soft' })
  const staleStarted = performance.now()
  const stale = await get(edge.url, `/articles/${articles[0].slug}`)
  t.equal(stale.status, 200)
  t.match(stale.body, `data-article-id="${articles[0].id}"`, 'a cached body is served stale without waiting')
  t.ok(performance.now() - staleStarted < 1000)

  stack.freezeService('article', false)
  await until('the article service to be healthy again', async () => (await backendHealth('article')) === 'healthy', 10_000)
  await purge({ articles: [uncached.id] })
  const recovered = await get(edge.url, `/articles/${uncached.slug}`)
  t.match(recovered.body, `data-article-id="${uncached.id}"`, 'recovered once it answers again')
})

t.test('Redis stopped: services fail cleanly, the edge keeps serving, everything reconnects when it returns', async (t) => {
  await stack.redis!.stop()
  const cached = await get(edge.url, pages[1])
  t.equal(cached.status, 200, 'cached pages are still served')
  const put = await fetch(`${contentApi}/articles/${articles[2].id}`, { method: 'PUT', headers: editor, body: JSON.stringify({ slug: 'x', title: 'x', section: 'news', body: 'x' }) })
  t.equal(put.status, 503, 'the content API says the store is unavailable')
  t.equal((await put.json()).error.code, 'TESSERA_STORE_UNAVAILABLE')
  const direct = await fetch(`http://127.0.0.1:${stack.config.ports.nav}/fragments/nav`)
  t.equal(direct.status, 503, 'a fragment answers its fallback with 503 (never cached)')
  t.match(await direct.text(), 'data-fragment="nav"')
  for (const [name, service] of Object.entries(stack.services)) t.equal(service.process.exitCode, null, `${name} is still running`)

  await stack.redis!.start()
  await until('the nav service to render again', async () => (await fetch(`http://127.0.0.1:${stack.config.ports.nav}/fragments/nav`)).status === 200, 15_000)
  const edit = await fetch(`${contentApi}/articles/${articles[2].id}`, { method: 'GET', headers: editor })
  t.equal(edit.status, 200, 'the content API reconnected')
  for (const [name, service] of Object.entries(stack.services)) t.equal(service.process.exitCode, null, `${name} is still running`)
})
