// The assembled-page tier (varnish/tier.vcl) against the real stack: two edge nodes with the tier on, and a
// small stack with it off. Each page read here carries the debug token, so it says which tier served it.
import { Redis } from 'ioredis'
import { crc32, gzipSync, gunzipSync } from 'node:zlib'
import t from 'tap'
import { contentKeys } from '../../content/repository.js'
import type { Nav } from '../../content/model.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { callJson, editable, publishedArticles } from '../support/api.js'
import { counters, get } from '../support/edge.js'
import { fetchBytes } from '../../bench/support/compare.js'
import { describeSeen, diffCounts, originFetchesOf, readSeen, type Seen, warmPageTier } from '../support/page-tier.js'
import { startTestStack } from '../support/stack.js'
import { acknowledgedPurge, eventsSettled, until } from '../support/wait.js'

// Both stacks start together; the one with the tier off waits for the last subtest.
const starting = performance.now()
const [stack, tierOffStack] = await Promise.all([startTestStack(t, { edges: 2 }), startTestStack(t, { edges: 1, pageTier: false })])
t.comment(`both stacks up in ${Math.round(performance.now() - starting)} ms`)
const [edge1] = stack.edges
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const ops = { authorization: `Bearer ${stack.secrets.opsToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }
const redis = new Redis(stack.redisUrl)
t.teardown(() => redis.disconnect())

const articles = await publishedArticles(contentApi, stack.secrets.editorToken)
const acknowledged = (key: string, since: number) => acknowledgedPurge({ redisUrl: stack.redisUrl, purgeApi, token: stack.secrets.editorToken }, key, since)

const read = (edge: EdgeNode, url: string, headers: Record<string, string> = debug): Promise<Seen> => readSeen(edge, url, headers)
const describe = describeSeen
const warm = (edges: EdgeNode[], urls: string[], marginS?: number) => warmPageTier(edges, urls, debug, marginS)

const originFetches = () => originFetchesOf(stack)

const diff = diffCounts

await eventsSettled(stack.redisUrl)
// Which pages show which article, from the pages' own keys: the first subtest edits an article that no list on
// the home page shows (the latest front and the sidebar), so only its page and its section's front show it; the
// load test edits one the sidebar lists, so every page shows it.
const homeKeys = new Set((await read(edge1, '/')).keys)
const sidebarKeys = new Set((await read(edge1, '/fragments/sidebar')).keys)
const sectionKeys = new Map<string, Set<string>>()
for (const section of new Set(articles.map((a) => a.section))) sectionKeys.set(section, new Set((await read(edge1, `/sections/${section}`)).keys))
/** Shown on its own page and its section's front only. */
const quiet = articles.filter((a) => !homeKeys.has(`article-teaser:${a.id}`) && !homeKeys.has(`article-link:${a.id}`) && sectionKeys.get(a.section)!.has(`article-teaser:${a.id}`))
/** Shown on every page (the sidebar lists it). */
const everywhere = articles.filter((a) => sidebarKeys.has(`article-link:${a.id}`))
if (quiet.length < 4 || everywhere.length < 1) throw new Error(`the demo content has changed: ${quiet.length} quiet articles, ${everywhere.length} on the sidebar`)

t.test('editing an article refreshes its pages at both tiers on every node; pages that do not show it stay page-tier hits', async (t) => {
  const target = quiet[0]
  const others = quiet.filter((a) => a.section !== target.section).slice(0, 2)
  const otherSection = [...sectionKeys.keys()].find((s) => s !== target.section && !sectionKeys.get(s)!.has(`article-teaser:${target.id}`))!
  const showing = [`/articles/${target.slug}`, `/sections/${target.section}`]
  const notShowing = ['/', ...others.map((a) => `/articles/${a.slug}`), `/sections/${otherSection}`]
  t.equal(others.length, 2)

  const warmed = await warm(stack.edges, [...showing, ...notShowing])
  for (const [where, seen] of warmed) {
    const shows = seen.keys.some((k) => /^article(-head|-teaser|-link)?:/.test(k) && k.endsWith(`:${target.id}`))
    t.equal(shows, showing.includes(seen.url), `${where} ${showing.includes(seen.url) ? 'carries' : 'does not carry'} a key of article ${target.id}`)
    t.ok(seen.keys.includes(`page-url:${seen.url}`) && seen.keys.some((k) => k.startsWith('asm:')), `${where} carries page-url: and asm: keys`)
  }

  const stamp = Date.now()
  const title = `${target.title} (corrected ${stamp})`
  const body = `${target.body}\n\nCorrection ${stamp}: updated by the page tier test.`
  const since = Date.now()
  t.equal((await callJson(contentApi, 'PUT', `/articles/${target.id}`, { ...editable(target), title, body }, editor)).status, 200)
  const purge = await acknowledged(`article:${target.id}`, since)
  t.same(purge.keys, [`article:${target.id}`, `article-head:${target.id}`, `article-teaser:${target.id}`, `article-link:${target.id}`], 'a title and body edit purges the keys of what shows them only')
  t.ok(purge.complete, 'acknowledged by every node')
  for (const node of purge.nodes) t.ok(node.ok && (node.purged ?? 0) >= 5, `${node.node} purged ${node.purged} objects (at least the body, the shell, the section front and both assembled pages)`)

  for (const edge of stack.edges) {
    for (const url of showing) {
      const page = await read(edge, url)
      t.equal(page.status, 200)
      t.equal(page.tier, 'page', `${edge.name} ${url} from the page tier`)
      t.equal(page.cache, 'miss', `${edge.name} ${url} is assembled again`)
      t.ok(page.assembledAt * 1000 >= since, `${edge.name} ${url} assembled after the edit (${page.assembledAt} >= ${since / 1000})`)
      t.match(page.body, `(corrected ${stamp})`, `${edge.name} ${url} shows the new title`)
      if (url.startsWith('/articles/')) t.match(page.body, `Correction ${stamp}: updated by the page tier test.`, `${edge.name} ${url} shows the new body`)
      const again = await read(edge, url)
      t.equal(again.cache, 'hit', `${edge.name} ${url}: the new assembly is cached at the page tier`)
      t.equal(again.assembledAt, page.assembledAt)
    }
    const fragment = await read(edge, `/fragments/article/${target.id}`)
    t.match(fragment.body, `Correction ${stamp}: updated by the page tier test.`, `${edge.name}: the body fragment is the new one`)
    t.ok(fragment.renderedAt >= since, `${edge.name}: the body fragment was rendered after the edit`)
    t.equal(fragment.cache, 'hit', `${edge.name}: the body fragment is the object the assembly fetched`)
    for (const url of notShowing) {
      const page = await read(edge, url)
      const before = warmed.get(`${edge.name} ${url}`)!
      t.equal(page.tier, 'page')
      t.equal(page.cache, 'hit', `${edge.name} ${url} is still a page-tier hit`)
      t.equal(page.assembledAt, before.assembledAt, `${edge.name} ${url} was not assembled again`)
      t.notMatch(page.body, `corrected ${stamp}`)
    }
  }
})

t.test('a nav change refreshes every page but re-assembles from cached fragments', async (t) => {
  const pages = ['/', ...quiet.slice(1, 4).map((a) => `/articles/${a.slug}`), `/articles/${everywhere[0].slug}`, '/sections/news', '/sections/culture']
  await warm(stack.edges, pages)
  const before = await originFetches()

  const nav = (await callJson<Nav>(contentApi, 'GET', '/nav', undefined, editor)).json
  const label = `Nav change ${Date.now()}`
  const since = Date.now()
  t.equal((await callJson(contentApi, 'PUT', '/nav', { entries: [...nav.entries, { label, href: '/sections/news' }] }, editor)).status, 200)
  const purge = await acknowledged('nav', since)
  t.same(purge.keys, ['nav'])
  t.ok(purge.complete)

  for (const edge of stack.edges) {
    for (const url of pages) {
      const page = await read(edge, url)
      t.equal(page.tier, 'page')
      t.equal(page.cache, 'miss', `${edge.name} ${url} is assembled again`)
      t.match(page.body, label, `${edge.name} ${url} shows the new nav`)
    }
  }
  const after = await originFetches()
  stack.edges.forEach((edge, i) => {
    t.same(diff(after.vbe[i], before.vbe[i]), {
      'VBE.boot.tessera_nav.req': 1,
      'VBE.boot.tessera_sidebar.req': 0,
      'VBE.boot.tessera_article.req': 0,
      'VBE.boot.tessera_sections.req': 0,
      'VBE.boot.tessera_layout.req': 0,
      'VBE.boot.tessera_pages.req': pages.length,
    }, `${edge.name}: ${pages.length} assemblies, one nav fetch, nothing else from the origins`)
  })
  t.same(diff(after.renders, before.renders), { layout: 0, nav: stack.edges.length, sidebar: 0, article: 0, sections: 0 }, 'renders: nav once per edge node, nothing else')

  for (const edge of stack.edges) {
    for (const url of pages) t.equal((await read(edge, url)).cache, 'hit', `${edge.name} ${url}: the new assembly is cached`)
  }
})

t.test('a fragment whose TTL expires is never older inside a cached page than on its own', async (t) => {
  // Nav gets a 2 s TTL and no grace. Then nav's record changes in Redis every 300 ms WITHOUT a change event
  // (so nothing is purged): a nav object shows the tick it was rendered at, and only its expiry brings a
  // newer tick to the edge. The page must never show an older tick than the standalone nav, and must never
  // be cached for longer than the nav inside it.
  const original = await redis.get(contentKeys.nav)
  const nav = JSON.parse(original!) as Nav
  const TUNED = { ttl: 2, grace: 0, keep: 3600 }
  let tick = 0
  let writer: NodeJS.Timeout | undefined
  const write = () => redis.set(contentKeys.nav, JSON.stringify({ ...nav, entries: [...nav.entries, { label: `Tick ${tick}`, href: '/' }], updatedAt: new Date().toISOString() }))
  const tickOf = (s: Seen) => Number(/Tick (\d+)/.exec(s.body)?.[1] ?? -1)
  try {
    await write()
    writer = setInterval(() => {
      tick++
      void write()
    }, 300)
    const put = await callJson(purgeApi, 'PUT', '/policies/nav', TUNED, ops)
    t.equal(put.status, 200)
    await until('the 2 s nav policy at the edge', async () => (await get(edge1.url, '/fragments/nav', debug)).headers.get('x-tessera-policy') === 'ttl=2; grace=0; keep=3600; source=override')
    await until('a ticking nav on the page', async () => tickOf(await read(edge1, '/')) >= 0, 5000)

    const samples: Array<{ before: Seen; page: Seen; after: Seen }> = []
    const url = '/'
    const end = Date.now() + 7000
    while (Date.now() < end) {
      const before = await read(edge1, '/fragments/nav')
      const page = await read(edge1, url)
      const after = await read(edge1, '/fragments/nav')
      samples.push({ before, page, after })
      await new Promise((r) => setTimeout(r, 40))
    }
    clearInterval(writer)
    writer = undefined

    const line = (s: { before: Seen; page: Seen; after: Seen }) =>
      `nav tick ${tickOf(s.before)} (ttl-left ${s.before.ttlLeft}) | page tick ${tickOf(s.page)} ${s.page.cache} assembled-at ${s.page.assembledAt} ttl-left ${s.page.ttlLeft} | nav tick ${tickOf(s.after)} (ttl-left ${s.after.ttlLeft})`
    t.ok(samples.length > 30, `${samples.length} samples over 7 s`)
    t.same(samples.filter((s) => s.page.tier !== 'page' || s.page.status !== 200).map((s) => describe(s.page)), [], 'every page from the page tier')
    t.same(samples.filter((s) => tickOf(s.before) < 0 || tickOf(s.after) < 0 || tickOf(s.page) < 0).map(line), [], 'every nav shows a tick')
    t.same(samples.filter((s) => tickOf(s.page) < tickOf(s.before)).map(line), [], 'the page never shows a nav older than the standalone nav read just before it')
    // Expiry in absolute time: the page's is at least sent + ttl-left, the nav's at most received + ttl-left
    // (give or take 1 ms: the edge rounds each TTL-left header to the millisecond).
    t.same(samples.filter((s) => s.page.sent / 1000 + s.page.ttlLeft > s.after.received / 1000 + s.after.ttlLeft + 0.001).map(line), [], 'the page never expires after the nav it was read with')
    t.same(samples.filter((s) => s.page.ttlLeft > TUNED.ttl).map(line), [], 'a page TTL never exceeds the nav TTL')
    const assemblies = new Map<number, Set<number>>()
    for (const s of samples) assemblies.set(s.page.assembledAt, (assemblies.get(s.page.assembledAt) ?? new Set()).add(tickOf(s.page)))
    t.ok(assemblies.size >= 3, `the page was assembled again as nav expired: ${assemblies.size} assemblies in 7 s`)
    t.same([...assemblies].filter(([, ticks]) => ticks.size > 1).map(([at, ticks]) => `${at}: ticks ${[...ticks]}`), [], 'one assembly, one nav')
    const order = samples.map((s) => s.page.assembledAt)
    t.same(order.filter((at, i) => i > 0 && at < order[i - 1]), [], 'assemblies only move forward')
    t.ok(new Set(samples.map((s) => tickOf(s.page))).size >= 3, 'the page showed each newer nav')
    t.comment(samples.filter((s, i) => i === 0 || s.page.assembledAt !== samples[i - 1].page.assembledAt).map(line).join('\n'))

    // The last tick reaches the page within one nav TTL.
    const last = tick
    const caughtUp = await until('the last tick in the page', async () => {
      const page = await read(edge1, url)
      return tickOf(page) === last ? page : undefined
    }, (TUNED.ttl + 2) * 1000)
    t.equal(caughtUp.tier, 'page')
  } finally {
    if (writer) clearInterval(writer)
    if (original) await redis.set(contentKeys.nav, original)
    const restore = await callJson(purgeApi, 'DELETE', '/policies/nav', undefined, ops)
    t.equal(restore.status, 200, 'nav back on its default policy')
  }
  await until('the default nav policy at the edge', async () => (await get(edge1.url, '/fragments/nav', debug)).headers.get('x-tessera-policy')?.endsWith('source=default'))
})

t.test('continuous edits under read load give no stale read after acknowledgement', async (t) => {
  // The subject is on the sidebar, so every page shows its title; readers read pages on both nodes.
  const subject = everywhere[0]
  const pages = ['/', `/articles/${subject.slug}`, `/sections/${subject.section}`, `/articles/${quiet[1].slug}`]
  for (const url of pages) t.ok((await read(edge1, url)).keys.includes(`article-link:${subject.id}`), `${url} shows article ${subject.id} (the sidebar's link)`)
  await eventsSettled(stack.redisUrl)
  const reads: Array<{ start: number; version: number; node: string; url: string; cache: string | null; tier: string | null }> = []
  let reading = true
  const reader = async (edge: EdgeNode, url: string) => {
    while (reading) {
      const seen = await read(edge, url)
      // The oldest version anywhere on the page (the title is in several fragments); none: the title before v0.
      const versions = [...seen.body.matchAll(/Load v(\d+)/g)].map((m) => Number(m[1]))
      reads.push({ start: seen.sent, version: versions.length ? Math.min(...versions) : -1, node: edge.name, url, cache: seen.cache, tier: seen.tier })
    }
  }
  const readers = stack.edges.flatMap((edge) => pages.map((url) => reader(edge, url)))
  const acked: number[] = []
  const EDITS = 22
  for (let i = 0; i < EDITS; i++) {
    const since = Date.now()
    t.equal((await callJson(contentApi, 'PUT', `/articles/${subject.id}`, { ...editable(subject), title: `Load v${i}` }, editor)).status, 200)
    const purge = await acknowledged(`article:${subject.id}`, since)
    acked.push(Date.parse(purge.ackedAt))
    await new Promise((r) => setTimeout(r, 60)) // readers meet the new version cached, too
  }
  reading = false
  await Promise.all(readers)
  const stale = reads.filter((r) => {
    const newestAcked = acked.findLastIndex((at) => at <= r.start)
    return newestAcked >= 0 && r.version < newestAcked
  })
  t.ok(reads.length > 200, `${reads.length} page reads during ${EDITS} edits`)
  t.same(reads.filter((r) => r.tier !== 'page').length, 0, 'every read from the page tier')
  t.ok(reads.filter((r) => r.cache === 'hit').length > reads.length / 4, `page-tier hits: ${reads.filter((r) => r.cache === 'hit').length} of ${reads.length}`)
  t.same(stale, [], 'no page read that started after an acknowledgement shows an older version')
  for (const edge of stack.edges) {
    for (const url of pages) t.match((await read(edge, url)).body, `Load v${EDITS - 1}`, `${edge.name} ${url} ends on the last edit`)
  }
})

t.test('a gzip reader gets the assembled page as one gzip of the whole page, which decodes to the plain page byte for byte', async (t) => {
  for (const url of ['/', `/articles/${quiet[0].slug}`]) {
    await warm([edge1], [url], 5)
    const gzip = await fetchBytes(edge1.url + url, { 'accept-encoding': 'gzip' })
    const plain = await fetchBytes(edge1.url + url)
    t.equal(gzip.status, 200)
    t.equal(gzip.headers['content-encoding'], 'gzip', `${url}: gzip to a reader that accepts it`)
    t.equal(plain.headers['content-encoding'], undefined, `${url}: plain to one that does not`)
    t.ok(gunzipSync(gzip.body).equals(plain.body), `${url}: the gzip body decodes to the plain body`)
    t.notMatch(plain.body.toString(), /<esi:/)
    // One gzip member: its trailer's CRC-32 and length are the whole page's (a second member would carry its own part's).
    t.same([...gzip.body.subarray(0, 3)], [0x1f, 0x8b, 8], `${url}: a gzip header`)
    t.equal(gzip.body.readUInt32LE(gzip.body.length - 8), crc32(plain.body), `${url}: the trailer's CRC-32 is the whole page's`)
    t.equal(gzip.body.readUInt32LE(gzip.body.length - 4), plain.body.length, `${url}: the trailer's length is the whole page's`)
    // One pass over the page: about what gzip makes of it (stitched from the includes' own gzip it was 24% more).
    const once = gzipSync(plain.body).length
    t.ok(gzip.body.length <= once * 1.05, `${url}: ${gzip.body.length} gzip bytes for ${plain.body.length} bytes, one gzip of them is ${once}`)
  }
})

t.test('with the tier off, pages are not page-tier objects: assembled from the fragment objects each time, and right', async (t) => {
  const edge = tierOffStack.edges[0]
  const offDebug = { 'x-tessera-debug': tierOffStack.secrets.debugToken }
  const offContent = `http://127.0.0.1:${tierOffStack.config.ports.content}`
  // an article the sidebar lists: every page shows it
  const listed = new Set((await read(edge, '/fragments/sidebar', offDebug)).keys)
  const article = (await publishedArticles(offContent, tierOffStack.secrets.editorToken)).find((a) => listed.has(`article-link:${a.id}`))!
  const pages = ['/', `/articles/${article.slug}`, '/sections/news']
  for (const url of pages) {
    await read(edge, url, offDebug)
    const before = await counters(edge, 'MAIN.esi_req', 'MAIN.cache_hit')
    const page = await read(edge, url, offDebug)
    const after = await counters(edge, 'MAIN.esi_req', 'MAIN.cache_hit')
    t.equal(page.status, 200)
    t.equal(page.tier, null, `${url}: no x-tessera-tier header`)
    t.equal(page.cache, 'hit', `${url}: the shell is a hit`)
    t.same(page.keys.filter((k) => /^(asm|inc|page-url):/.test(k)), [], `${url}: the shell's keys only`)
    t.notMatch(page.body, /<esi:/)
    for (const name of ['nav', 'sidebar', 'sections']) t.match(page.body, `data-fragment="${name}"`, `${url} has the ${name} fragment`)
    const includes = (page.body.match(/data-fragment="/g) ?? []).length
    t.equal(after['MAIN.esi_req'] - before['MAIN.esi_req'], includes, `${url}: assembled again, one ESI sub-request per fragment`)
    t.equal(after['MAIN.cache_hit'] - before['MAIN.cache_hit'], includes + 1, `${url}: from the shell and fragment objects`)
  }
  // The same read with the tier on is one object: no ESI sub-request at all.
  await warm([edge1], ['/'], 5)
  const before = await counters(edge1, 'MAIN.esi_req', 'MAIN.cache_hit')
  t.equal((await read(edge1, '/')).cache, 'hit')
  const after = await counters(edge1, 'MAIN.esi_req', 'MAIN.cache_hit')
  t.same(diff(after, before), { 'MAIN.esi_req': 0, 'MAIN.cache_hit': 1 }, 'tier on: a warm page is one lookup')

  // and an edit shows at once after its acknowledgement
  const since = Date.now()
  t.equal((await callJson(offContent, 'PUT', `/articles/${article.id}`, { ...editable(article), title: `Tier off ${since}` }, { authorization: `Bearer ${tierOffStack.secrets.editorToken}` })).status, 200)
  await acknowledgedPurge({ redisUrl: tierOffStack.redisUrl, purgeApi: `http://127.0.0.1:${tierOffStack.config.ports.purge}`, token: tierOffStack.secrets.editorToken }, `article:${article.id}`, since)
  for (const url of pages) t.match((await read(edge, url, offDebug)).body, `Tier off ${since}`, `${url} shows the edit`)
})
