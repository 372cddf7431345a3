import t from 'tap'
import { counters, get, purgeKeys } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled, until } from '../support/wait.js'

const stack = await startTestStack(t)
const edge = stack.edges[0]
const api = `http://127.0.0.1:${stack.config.ports.content}`
const auth = { authorization: `Bearer ${stack.secrets.editorToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }

async function apiJson(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(api + path, { method, headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

const { json: firstPage } = await apiJson('GET', '/articles?limit=100')
const published = firstPage.items.filter((a: { publishedAt?: string }) => a.publishedAt && Date.parse(a.publishedAt) <= Date.now())
const article = published[0]

t.test('the home page is assembled at the edge from every fragment, with no ESI tag left', async (t) => {
  const page = await get(edge.url, '/')
  t.equal(page.status, 200)
  t.notMatch(page.body, /<esi:/)
  for (const name of ['nav', 'sidebar', 'sections', 'article']) t.match(page.body, `data-fragment="${name}"`, `has the ${name} fragment`)
  t.match(page.body, /<h2>Latest<\/h2>/)
  t.equal(page.headers.get('cache-control'), 'public, max-age=0, must-revalidate')
  t.equal(page.headers.get('xkey'), null, 'no surrogate keys for readers')
  t.equal(page.headers.get('x-tessera-policy'), null)
})

t.test('an article page shows its body, and the second request is one page-tier hit', async (t) => {
  const path = `/articles/${article.slug}`
  const first = await get(edge.url, path)
  t.equal(first.status, 200)
  t.match(first.body, `data-article-id="${article.id}"`)
  t.match(first.body, `<title>${article.title.replace(/&/g, '&amp;').replace(/'/g, '&#x27;')}`)
  t.notMatch(first.body, /<esi:/)
  const before = await counters(edge, 'MAIN.cache_hit', 'MAIN.cache_miss', 'MAIN.esi_req')
  const second = await get(edge.url, path, debug)
  const after = await counters(edge, 'MAIN.cache_hit', 'MAIN.cache_miss', 'MAIN.esi_req')
  t.equal(second.body, first.body)
  t.equal(second.headers.get('x-tessera-tier'), 'page', 'served by the page tier')
  t.equal(after['MAIN.esi_req'] - before['MAIN.esi_req'], 0, 'no ESI sub-request: the assembled page is cached')
  t.equal(after['MAIN.cache_hit'] - before['MAIN.cache_hit'], 1, 'one lookup, a hit')
  t.equal(after['MAIN.cache_miss'] - before['MAIN.cache_miss'], 0, 'no misses')
})

t.test('a missing article or section is a real 404 page, cached briefly', async (t) => {
  const missing = await get(edge.url, '/articles/no-such-article', debug)
  t.equal(missing.status, 404)
  t.match(missing.body, 'Page not found')
  t.match(missing.body, 'data-fragment="nav"', 'still a whole page with navigation')
  t.ok(Number(missing.headers.get('x-tessera-ttl-left')) <= 30, 'kept 30 s at most (the not-found shell)')
  const again = await get(edge.url, '/articles/no-such-article', debug)
  t.equal(again.status, 404)
  t.equal(again.headers.get('x-tessera-cache'), 'hit')
  t.equal((await get(edge.url, '/sections/no-such-section')).status, 404)
  t.equal((await get(edge.url, '/sections/news')).status, 200)
  t.equal((await get(edge.url, '/articles/Bad..Slug')).status, 404)
})

t.test('fragments are served through the edge too, with their keys and policy for the debug token only', async (t) => {
  const nav = await get(edge.url, '/fragments/nav', debug)
  t.equal(nav.status, 200)
  t.match(nav.body, /^<nav data-fragment="nav"/)
  t.match(nav.headers.get('xkey') ?? '', /\bnav\b.*fragment:nav|fragment:nav.*\bnav\b/)
  t.match(nav.headers.get('x-tessera-policy') ?? '', 'ttl=300; grace=60; keep=86400')
  const body = await get(edge.url, `/fragments/article/${article.id}`, debug)
  t.match(body.headers.get('xkey') ?? '', `article:${article.id}`)
  t.match(body.headers.get('x-tessera-grace') ?? '', /^120\./)
  t.match(body.headers.get('x-tessera-keep') ?? '', /^86400\./)
  const plain = await get(edge.url, '/fragments/nav', { 'x-tessera-debug': 'wrong-token-wrong-token' })
  t.equal(plain.headers.get('xkey'), null)
  t.equal((await get(edge.url, '/fragments/unknown')).status, 404)
})

t.test('an edit through the content API writes the record and its change event together', async (t) => {
  const lengthBefore = await streamLength()
  const changed = { ...pick(article), title: `${article.title} (updated)` }
  const put = await apiJson('PUT', `/articles/${article.id}`, changed)
  t.equal(put.status, 200)
  t.equal(await streamLength(), lengthBefore + 1)
  // the purge service turns the event into a purge of article:<id>
  const page = await until('the edit at the edge', async () => {
    const p = await get(edge.url, `/articles/${article.slug}`)
    return p.body.includes('(updated)') ? p : undefined
  })
  t.match(page.body, `<title>${article.title.replace(/&/g, '&amp;').replace(/'/g, '&#x27;')} (updated)`)
  const rejected = await apiJson('PUT', `/articles/${article.id}`, { ...changed, title: '' })
  t.equal(rejected.status, 400)
  t.equal(rejected.json.error.field, 'title')
  t.equal(await streamLength(), lengthBefore + 1, 'a rejected write writes no event')
})

t.test('editor HTML cannot inject an ESI include, and a scheduled block appears at its time', async (t) => {
  const startsAt = new Date(Date.now() + 3000).toISOString()
  t.equal((await apiJson('PUT', '/blocks/test-esi', { slot: 'main', kind: 'html', content: '<p>hi</p><esi:include src="/fragments/nav"/><!--esi <b>x</b> -->', position: 99 })).status, 201)
  t.equal((await apiJson('PUT', '/blocks/test-later', { slot: 'main', kind: 'text', content: 'Appears later <b>escaped</b>', position: 100, startsAt })).status, 201)
  await eventsSettled(stack.redisUrl)
  const slot = await get(edge.url, '/fragments/sections/main', debug)
  t.match(slot.body, '&lt;esi:include')
  t.notMatch(slot.body, 'Appears later')
  const ttlLeft = Number(slot.headers.get('x-tessera-ttl-left'))
  t.ok(ttlLeft <= 3 && ttlLeft >= 0, `TTL clamped to the scheduled start (${ttlLeft} s left)`)
  const home = await get(edge.url, '/')
  t.equal((home.body.match(/data-fragment="nav"/g) ?? []).length, 1, 'the editor include did not pull in another nav')
  await new Promise((r) => setTimeout(r, Date.parse(startsAt) - Date.now() + 700))
  const later = await get(edge.url, '/fragments/sections/main')
  t.match(later.body, 'Appears later &lt;b&gt;escaped&lt;/b&gt;')
})

t.test('an object with 1000 surrogate keys is cached whole and purgeable by any one of them', async (t) => {
  for (let i = 0; i < 1000; i += 50) {
    const batch = Array.from({ length: 50 }, (_, j) => apiJson('PUT', `/blocks/many-${i + j}`, { slot: 'sidebar', kind: 'text', content: `block ${i + j}`, position: 1000 + i + j }))
    for (const put of await Promise.all(batch)) if (put.status !== 201) throw new Error(`block not created: ${JSON.stringify(put.json)}`)
  }
  await eventsSettled(stack.redisUrl)
  const slot = await get(edge.url, '/fragments/sections/sidebar', debug)
  t.equal(slot.status, 200)
  t.match(slot.body, 'block 999')
  const keys = (slot.headers.get('xkey') ?? '').split(/[ ,]+/)
  t.ok(keys.includes('block:many-999') && keys.includes('block:many-0'), 'every key reaches the edge')
  t.equal((await get(edge.url, '/fragments/sections/sidebar', debug)).headers.get('x-tessera-cache'), 'hit')
  t.equal(await purgeKeys(edge, stack.secrets.purgeSecret, ['block:many-777']), 1)
  // Every page includes that slot: its keys are too many for an assembled page's headers, so pages are
  // assembled per request (not kept at the page tier) rather than failing.
  const home = await get(edge.url, '/', debug)
  t.equal(home.status, 200)
  t.match(home.body, 'block 999')
  t.match(home.headers.get('x-tessera-page-uncacheable') ?? '', 'surrogate keys')
})

function pick(a: Record<string, unknown>) {
  const { slug, title, section, body, summary, author, publishedAt } = a
  return Object.fromEntries(Object.entries({ slug, title, section, body, summary, author, publishedAt }).filter(([, v]) => v !== undefined))
}

async function streamLength(): Promise<number> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(stack.redisUrl)
  try {
    return await redis.xlen('tessera:events')
  } finally {
    redis.disconnect()
  }
}
