import { Redis } from 'ioredis'
import t from 'tap'
import { counters, get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled as settled, until } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 2 })
const [edge1, edge2] = stack.edges
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }
const redis = new Redis(stack.redisUrl)
t.teardown(() => redis.disconnect())

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = editor): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, { method, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body !== undefined ? JSON.stringify(body) : undefined })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

const articles = (await call(contentApi, 'GET', '/articles?limit=100')).json.items.filter((a: any) => a.publishedAt && Date.parse(a.publishedAt) < Date.now())
const editable = (a: any) => {
  const { slug, title, section, body, summary, author, publishedAt, views } = a
  return Object.fromEntries(Object.entries({ slug, title, section, body, summary, author, publishedAt, views }).filter(([, v]) => v !== undefined))
}
// Articles on no list every page shows (the sidebar, the home page's latest, the news front): an edit of the
// target's body touches its own objects only (and, with the page tier, the pages that show them).
const keysAt = async (url: string) => ((await get(stack.edges[0].url, url, debug)).headers.get('xkey') ?? '').split(/[ ,]+/)
const listed = new Set((await Promise.all(['/fragments/sidebar', '/fragments/article/front/latest', '/fragments/article/front/section-news'].map(keysAt))).flat())
const unlisted = articles.filter((a: any) => !listed.has(`article-teaser:${a.id}`) && !listed.has(`article-link:${a.id}`) && a.section !== 'news').reverse()
const target = unlisted[0]
const other = unlisted[1]

const eventsSettled = () => settled(stack.redisUrl)

const urls = ['/', `/articles/${target.slug}`, `/articles/${other.slug}`, '/sections/news', `/fragments/article/${other.id}`]

t.test('an edit refreshes exactly the affected objects on both edge nodes; everything else stays a hit', async (t) => {
  await eventsSettled()
  for (const edge of stack.edges) for (const url of urls) await get(edge.url, url)
  const before = await call(contentApi, 'PUT', `/articles/${target.id}`, { ...editable(target), body: `${target.body}\n\nCorrection: updated by the purge test.` })
  t.equal(before.status, 200)
  await eventsSettled()
  const purge = (await call(purgeApi, 'GET', '/purges?limit=1')).json.purges[0]
  t.same(purge.keys, [`article:${target.id}`], 'a body edit maps to its article key only')
  t.equal(purge.source, 'event')
  t.ok(purge.complete)
  t.same(purge.nodes.map((n: any) => n.node).sort(), [edge1.url, edge2.url].sort())
  for (const node of purge.nodes) t.ok(node.ok && node.status === 200 && node.purged >= 2, `${node.node} purged the body and the page showing it (${node.purged})`)
  for (const edge of stack.edges) {
    const page = await get(edge.url, `/articles/${target.slug}`, debug)
    t.match(page.body, 'Correction: updated by the purge test.', `${edge.name} shows the edit`)
    const body = await get(edge.url, `/fragments/article/${target.id}`, debug)
    // fetched once, by the page's assembly (its look-up, then the ESI pass: 1 hit), then this read: 2 hits
    t.match(body.headers.get('x-tessera-hits'), '2', `${edge.name}: the new body was fetched once, by the page`)
    for (const url of ['/', `/articles/${other.slug}`, '/sections/news', `/fragments/article/${other.id}`, '/fragments/nav', '/fragments/sidebar']) {
      const res = await get(edge.url, url, debug)
      t.equal(res.headers.get('x-tessera-cache'), 'hit', `${edge.name} ${url} is still a hit`)
    }
  }
})

t.test('the API purges by article, previews the URLs first, and logs who did what', async (t) => {
  for (const edge of stack.edges) await get(edge.url, `/articles/${other.slug}`)
  const preview = await call(purgeApi, 'POST', '/purges/preview', { articles: [other.id] })
  t.equal(preview.status, 200)
  t.ok(preview.json.urls.includes(`/articles/${other.slug}`) && preview.json.urls.includes(`/fragments/article/${other.id}`), 'the preview lists the page and the body')
  const res = await call(purgeApi, 'POST', '/purges', { articles: [other.id], mode: 'hard' })
  t.equal(res.status, 200)
  t.equal(res.json.complete, true)
  for (const node of res.json.nodes) t.ok(node.purged >= 2, `${node.node} purged ${node.purged}`)
  const audit = (await call(purgeApi, 'GET', '/purges?limit=5')).json.purges
  t.equal(audit[0].id, res.json.id)
  t.equal(audit[0].who, 'editor')
  t.same(audit[0].keys, [`article:${other.id}`, `article-head:${other.id}`, `article-teaser:${other.id}`, `article-link:${other.id}`], 'every object showing the article')
  t.ok(typeof (await call(purgeApi, 'GET', '/openapi.json', undefined, {})).json.paths['/purges'] === 'object', 'OpenAPI document served')
})

t.test('warm-up after a purge re-fetches the affected URLs through every node, so readers meet hits', async (t) => {
  for (const edge of stack.edges) await get(edge.url, `/articles/${other.slug}`)
  const res = await call(purgeApi, 'POST', '/purges', { articles: [other.id], warm: true })
  t.equal(res.status, 200)
  t.equal(res.json.warmed.length, 2)
  for (const w of res.json.warmed) t.ok(w.fetched >= 2 && w.failed === 0, `${w.node} warmed ${w.fetched} URLs`)
  for (const edge of stack.edges) {
    t.equal((await get(edge.url, `/articles/${other.slug}`, debug)).headers.get('x-tessera-cache'), 'hit', `${edge.name}: the page is warm`)
    t.equal((await get(edge.url, `/fragments/article/${other.id}`, debug)).headers.get('x-tessera-cache'), 'hit', `${edge.name}: the body is warm`)
  }
})

t.test('bad purge requests get a clear 4xx and purge nothing', async (t) => {
  const auditBefore = (await call(purgeApi, 'GET', '/purges?limit=1')).json.purges[0]?.id
  const cases: Array<[unknown, number, string]> = [
    [{ keys: ['article:1 list:latest'] }, 400, 'keys[0]'],
    [{ keys: [] }, 400, 'body'],
    [{}, 400, 'body'],
    [{ keys: ['nav'], mode: 'nuke' }, 400, 'mode'],
    [{ keys: ['nav'], extra: 1 }, 400, 'extra'],
    [{ urls: ['http://evil.example/'] }, 400, 'urls[0]'],
    [{ keys: Array.from({ length: 1001 }, (_, i) => `block:b${i}`) }, 400, 'body'],
    [[1, 2], 400, 'body'],
  ]
  for (const [body, status, field] of cases) {
    const res = await call(purgeApi, 'POST', '/purges', body)
    t.equal(res.status, status, JSON.stringify(body).slice(0, 60))
    t.equal(res.json.error.field, field)
  }
  t.equal((await call(purgeApi, 'POST', '/purges', { keys: ['nav'] }, { authorization: 'Bearer wrong-token-wrong-token' })).status, 401)
  t.equal((await call(purgeApi, 'POST', '/purges', { keys: ['nav'] }, {})).status, 401)
  const huge = await fetch(purgeApi + '/purges', { method: 'POST', headers: { ...editor, 'content-type': 'application/json' }, body: JSON.stringify({ keys: ['x'.repeat(300 * 1024)] }) })
  t.equal(huge.status, 413)
  t.equal((await call(purgeApi, 'GET', '/purges?limit=1')).json.purges[0]?.id, auditBefore, 'nothing was purged or logged')
  const ban = await call(purgeApi, 'POST', '/bans', { regex: '^/a && obj.status == 200' })
  t.equal(ban.status, 400)
})

t.test('a soft purge serves the stale copy once, then the fresh one', async (t) => {
  const url = `/fragments/article/${other.id}`
  await get(edge1.url, url)
  const res = await call(purgeApi, 'POST', '/purges', { articles: [other.id], mode: 'soft' })
  t.equal(res.status, 200)
  const stale = await get(edge1.url, url, debug)
  t.equal(stale.headers.get('x-tessera-cache'), 'grace')
  t.ok(Number(stale.headers.get('x-tessera-ttl-left')) <= 0, 'served from grace')
  const fresh = await until('the background refresh', async () => {
    const r = await get(edge1.url, url, debug)
    return Number(r.headers.get('x-tessera-ttl-left')) > 500 ? r : undefined
  })
  t.equal(fresh.status, 200)
})

t.test('bans by URL prefix go through our admin CLI client to every node; edge health is reported', async (t) => {
  for (const edge of stack.edges) await get(edge.url, '/sections/news')
  const ban = await call(purgeApi, 'POST', '/bans', { prefix: '/sections/' })
  t.equal(ban.status, 200)
  t.equal(ban.json.expression, 'obj.http.x-url ~ ^/sections/')
  for (const edge of stack.edges) t.equal((await get(edge.url, '/sections/news', debug)).headers.get('x-tessera-cache'), 'miss', `${edge.name} refetched after the ban`)
  const edges = (await call(purgeApi, 'GET', '/edges')).json.edges
  t.equal(edges.length, 2)
  for (const e of edges) {
    t.equal(e.admin.reachable, true)
    t.ok(e.admin.backends.some((b: any) => b.name.endsWith('tessera_nav') && b.health === 'healthy'), 'backend health from backend.list')
    t.equal(e.pending, 0)
  }
})

t.test('a node that is down gets its purges from a durable queue when it returns', async (t) => {
  await edge2.varnishd.stop()
  const res = await call(purgeApi, 'POST', '/purges', { keys: ['nav'] })
  t.equal(res.status, 202, 'answered with the per-node failure')
  const down = res.json.nodes.find((n: any) => n.node === edge2.url)
  t.equal(down.ok, false)
  t.equal(down.queued, true)
  t.equal(down.error.code, 'TESSERA_EDGE_UNREACHABLE')
  t.equal(res.json.nodes.find((n: any) => n.node === edge1.url).ok, true)
  const lagging = (await call(purgeApi, 'GET', '/edges')).json.edges.find((e: any) => e.node === edge2.url)
  t.ok(lagging.pending >= 1, `the API says which node lags (${lagging.pending} pending, ${lagging.lagMs} ms)`)
  t.equal(lagging.admin.reachable, false)
  t.equal(await redis.llen(`tessera:purge-queue:${edge2.url}`), lagging.pending, 'the queue is in Redis')
  await stack.restartEdge(edge2.name)
  await until('the lagging node to converge', async () => (await call(purgeApi, 'GET', '/edges')).json.edges.every((e: any) => e.pending === 0), 20_000)
  t.pass('converged')
})

t.test('killing the purge service mid-burst loses no event', async (t) => {
  await eventsSettled()
  const edits = Array.from({ length: 40 }, (_, i) => call(contentApi, 'PUT', `/articles/${other.id}`, { ...editable(other), title: `Burst edit ${i}` }))
  const killed = new Promise((r) => setTimeout(r, 30)).then(() => stack.restartService('purge', 'kill'))
  for (const e of edits) t.equal((await e).status, 200)
  await killed
  await eventsSettled()
  const final = await until('the last title at both nodes', async () => {
    const pages = await Promise.all(stack.edges.map((e) => get(e.url, `/fragments/article/${other.id}`)))
    return pages.every((p) => p.body.includes('Burst edit 39')) ? pages : undefined
  })
  t.equal(final.length, 2)
})

t.test('a burst of purges of the same key is coalesced into one purge per window', async (t) => {
  await eventsSettled()
  const before = await counters(edge1, 'MAIN.client_req')
  const started = performance.now()
  const burst = await Promise.all(Array.from({ length: 20 }, () => call(purgeApi, 'POST', '/purges', { keys: ['list:popular'] })))
  const elapsed = performance.now() - started
  for (const res of burst) t.equal(res.status, 200)
  const after = await counters(edge1, 'MAIN.client_req')
  const requests = after['MAIN.client_req'] - before['MAIN.client_req']
  // Each purge reaches a node as two PURGE requests (the second pass before the acknowledgement).
  t.equal(requests % 2, 0, `${requests} PURGE requests: two per purge`)
  const sent = requests / 2
  // one at once, then at most one per 50 ms window while the burst lasted
  const allowed = 1 + Math.ceil(elapsed / stack.config.purge.coalesceMs)
  t.ok(sent >= 1 && sent <= Math.min(allowed, 20) && sent < 20, `20 requests over ${Math.round(elapsed)} ms reached the edge as ${sent} purge(s) (at most ${allowed})`)
})

t.test('under read load, no read that starts after a purge is acknowledged returns the old version', async (t) => {
  const subject = articles[articles.length - 3]
  await eventsSettled()
  const reads: Array<{ start: number; version: number; node: string; path: string }> = []
  let reading = true
  const reader = async (edge: (typeof stack.edges)[number], path: string) => {
    while (reading) {
      const start = Date.now()
      const res = await get(edge.url, path)
      const m = res.body.match(/Load v(\d+)/)
      reads.push({ start, version: m ? Number(m[1]) : -1, node: edge.name, path })
    }
  }
  const readers = stack.edges.flatMap((e) => [reader(e, `/fragments/article/${subject.id}`), reader(e, `/articles/${subject.slug}`)])
  const acked: number[] = []
  for (let i = 0; i < 25; i++) {
    t.equal((await call(contentApi, 'PUT', `/articles/${subject.id}`, { ...editable(subject), title: `Load v${i}` })).status, 200)
    await eventsSettled()
    const record = (await call(purgeApi, 'GET', '/purges?limit=5')).json.purges.find((p: any) => p.source === 'event' && p.keys.includes(`article:${subject.id}`))
    acked.push(Date.parse(record.ackedAt))
  }
  reading = false
  await Promise.all(readers)
  const stale = reads.filter((r) => {
    const newestAcked = acked.findLastIndex((at) => at <= r.start)
    return newestAcked >= 0 && r.version < newestAcked
  })
  t.ok(reads.length > 100, `${reads.length} reads during 25 edits`)
  t.same(stale, [], 'no stale read after an acknowledgement')
})
