// Late-bound includes (TESSERA_PAGE_TIER_LATE_INCLUDES=/fragments/nav, varnish/tier.vcl) against the real stack: two
// edge nodes whose page-tier copies keep nav's tag, which the front resolves on each delivery. Each page read
// here carries the debug token, so it says which tier served it and when its copy was assembled.
import { gunzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import type { Nav } from '../../content/model.js'
import type { PurgeRecord } from '../../purge-service/purger.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { fetchBytes } from '../../bench/support/compare.js'
import { callJson, publishedArticles } from '../support/api.js'
import { counters, get } from '../support/edge.js'
import { describeSeen, diffCounts, originFetchesOf, readSeen, type Seen, warmPageTier } from '../support/page-tier.js'
import { startTestStack } from '../support/stack.js'
import { acknowledgedPurge, eventsSettled, until } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 2, lateIncludes: ['/fragments/nav'] })
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const ops = { authorization: `Bearer ${stack.secrets.opsToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }
const read = (edge: EdgeNode, url: string): Promise<Seen> => readSeen(edge, url, debug)
/** Long enough for a whole subtest: a copy that expires by itself meanwhile would look re-assembled. */
const warm = (urls: string[]) => warmPageTier(stack.edges, urls, debug, 40)

await eventsSettled(stack.redisUrl)
const [article] = await publishedArticles(contentApi, stack.secrets.editorToken)
const pages = ['/', `/articles/${article.slug}`, '/sections/news']
const NAV_KEYS = ['nav', 'fragment:nav', 'inc:/fragments/nav']
const FALLBACK = '<nav data-fragment="nav" data-fragment-state="unavailable"></nav>'

/** Every page on every node is still the copy `warmed` saw (a hit, the same assembly), showing `shows`. */
async function sameCopies(t: Test, warmed: Map<string, Seen>, shows: string | RegExp, what: string): Promise<void> {
  for (const edge of stack.edges) {
    for (const url of pages) {
      const page = await read(edge, url)
      const before = warmed.get(`${edge.name} ${url}`)!
      t.equal(page.status, 200)
      t.equal(page.cache, 'hit', `${edge.name} ${url}: a page-tier hit (${describeSeen(page)})`)
      t.equal(page.assembledAt, before.assembledAt, `${edge.name} ${url}: the same copy, not assembled again`)
      t.match(page.body, shows, `${edge.name} ${url} ${what}`)
      t.notMatch(page.body, /<esi:/)
    }
  }
}

async function purgeUrl(url: string): Promise<PurgeRecord> {
  const purge = await callJson<PurgeRecord>(purgeApi, 'POST', '/purges', { urls: [url] }, editor)
  if (purge.status !== 200) throw new Error(`POST /purges answered ${purge.status}`)
  return purge.json
}

async function navHealth(edge: EdgeNode): Promise<string> {
  const { edges } = (await callJson<{ edges: Array<{ node: string; admin: { backends: Array<{ name: string; health: string }> } }> }>(purgeApi, 'GET', '/edges', undefined, ops)).json
  return edges.find((e) => e.node === edge.url)?.admin.backends.find((b) => b.name.endsWith('tessera_nav'))?.health ?? 'unknown'
}

t.test('a page-tier copy carries none of nav\'s keys and is whole for every reader; a hit costs one ESI include', async (t) => {
  const warmed = await warm(pages)
  for (const [where, seen] of warmed) {
    t.same(seen.keys.filter((k) => NAV_KEYS.includes(k)), [], `${where}: none of nav's keys`)
    t.ok(seen.keys.includes('inc:/fragments/sidebar') && seen.keys.includes(`page-url:${seen.url}`), `${where}: its baked includes' keys and its own`)
    t.match(seen.body, /<nav data-fragment="nav"/, `${where}: nav in place`)
    t.notMatch(seen.body, /<esi:/, `${where}: no tag left`)
  }
  for (const edge of stack.edges) {
    for (const url of pages) {
      const plain = await fetchBytes(edge.url + url)
      const gzip = await fetchBytes(edge.url + url, { 'accept-encoding': 'gzip' })
      t.equal(plain.status, 200)
      t.equal(gzip.headers['content-encoding'], 'gzip', `${edge.name} ${url}: gzip to a reader that accepts it`)
      t.ok(gunzipSync(gzip.body).equals(plain.body), `${edge.name} ${url}: the gzip body decodes to the plain body`)
      t.notMatch(plain.body.toString(), /<esi:/)
      for (const header of ['xkey', 'x-tessera-assembly', 'x-tessera-page-late', 'x-tessera-tier']) t.equal(plain.headers[header], undefined, `${edge.name} ${url}: no ${header} for a reader`)
    }
  }
  const [edge1] = stack.edges
  const before = await counters(edge1, 'MAIN.esi_req', 'MAIN.cache_hit', 'VBE.boot.tessera_pages.req')
  t.equal((await read(edge1, '/')).cache, 'hit')
  const after = await counters(edge1, 'MAIN.esi_req', 'MAIN.cache_hit', 'VBE.boot.tessera_pages.req')
  t.same(diffCounts(after, before), { 'MAIN.esi_req': 1, 'MAIN.cache_hit': 2, 'VBE.boot.tessera_pages.req': 0 }, 'a warm page: its copy and nav, two lookups, one ESI include')
})

t.test('nav\'s TTL does not bound the copies: a 2 s nav policy leaves them as they are', async (t) => {
  const warmed = await warm(pages)
  t.equal((await callJson(purgeApi, 'PUT', '/policies/nav', { ttl: 2, grace: 0, keep: 3600 }, ops)).status, 200)
  const [edge1] = stack.edges
  try {
    await until('the 2 s nav policy at the edge', async () => (await get(edge1.url, '/fragments/nav', debug)).headers.get('x-tessera-policy') === 'ttl=2; grace=0; keep=3600; source=override')
    for (const edge of stack.edges) {
      const nav = await read(edge, '/fragments/nav')
      t.ok(nav.ttlLeft <= 2, `${edge.name}: nav's own TTL is ${nav.ttlLeft} s`)
      for (const url of pages) {
        const page = await read(edge, url)
        t.equal(page.assembledAt, warmed.get(`${edge.name} ${url}`)!.assembledAt, `${edge.name} ${url}: the same copy`)
        t.ok(page.ttlLeft > 10, `${edge.name} ${url}: the copy keeps ${page.ttlLeft} s, not nav's 2`)
      }
    }
  } finally {
    t.equal((await callJson(purgeApi, 'DELETE', '/policies/nav', undefined, ops)).status, 200, 'nav back on its default policy')
  }
  await until('the default nav policy at the edge', async () => (await get(edge1.url, '/fragments/nav', debug)).headers.get('x-tessera-policy')?.endsWith('source=default'))
})

t.test('a nav edit purges nav, not the pages: the next read on every node shows it, from the same copies', async (t) => {
  const warmed = await warm(pages)
  const before = await originFetchesOf(stack)
  const nav = (await callJson<Nav>(contentApi, 'GET', '/nav', undefined, editor)).json
  const label = `Late nav ${Date.now()}`
  const since = Date.now()
  t.equal((await callJson(contentApi, 'PUT', '/nav', { entries: [...nav.entries, { label, href: '/sections/news' }] }, editor)).status, 200)
  const purge = await acknowledgedPurge({ redisUrl: stack.redisUrl, purgeApi, token: stack.secrets.editorToken }, 'nav', since)
  t.same(purge.keys, ['nav'])
  t.ok(purge.complete, 'acknowledged by every node')
  for (const node of purge.nodes) t.ok(node.ok && (node.purged ?? 0) >= 1 && (node.purged ?? 0) < pages.length, `${node.node} purged ${node.purged} objects: nav's, no page copy`)

  await sameCopies(t, warmed, label, 'shows the new nav')
  const after = await originFetchesOf(stack)
  stack.edges.forEach((edge, i) => {
    t.same(diffCounts(after.vbe[i], before.vbe[i]), {
      'VBE.boot.tessera_nav.req': 1,
      'VBE.boot.tessera_sidebar.req': 0,
      'VBE.boot.tessera_article.req': 0,
      'VBE.boot.tessera_sections.req': 0,
      'VBE.boot.tessera_layout.req': 0,
      'VBE.boot.tessera_pages.req': 0,
    }, `${edge.name}: one nav fetch, no assembly`)
  })
  t.same(diffCounts(after.renders, before.renders), { layout: 0, nav: stack.edges.length, sidebar: 0, article: 0, sections: 0 }, 'renders: nav once per edge node, nothing else')
})

t.test('a purge of nav by URL takes nav, not the pages', async (t) => {
  const warmed = await warm(pages)
  const before = await originFetchesOf(stack)
  const purge = await purgeUrl('/fragments/nav')
  t.ok(purge.complete)
  for (const node of purge.nodes) t.equal(node.purged, 1, `${node.node}: nav's object only`)
  await sameCopies(t, warmed, /<nav data-fragment="nav"/, 'shows nav')
  const after = await originFetchesOf(stack)
  stack.edges.forEach((edge, i) => {
    t.equal(after.vbe[i]['VBE.boot.tessera_nav.req'] - before.vbe[i]['VBE.boot.tessera_nav.req'], 1, `${edge.name}: nav fetched again`)
    t.equal(after.vbe[i]['VBE.boot.tessera_pages.req'] - before.vbe[i]['VBE.boot.tessera_pages.req'], 0, `${edge.name}: no assembly`)
  })
})

t.test('nav\'s origin down: every page shows nav\'s fallback, as with the tier off, from the same copies', async (t) => {
  const warmed = await warm(pages)
  await stack.killService('nav')
  t.teardown(() => stack.startServiceAgain('nav')) // (starts only what is down)
  for (const edge of stack.edges) await until(`${edge.name}'s probe to mark nav sick`, async () => (await navHealth(edge)) === 'sick', 10_000)
  t.ok((await purgeUrl('/fragments/nav')).complete, 'nav purged: no copy left to serve stale')
  await sameCopies(t, warmed, FALLBACK, 'shows nav\'s fallback')

  await stack.startServiceAgain('nav')
  for (const edge of stack.edges) await until(`${edge.name}'s probe to see nav again`, async () => (await navHealth(edge)) === 'healthy', 10_000)
  t.ok((await purgeUrl('/fragments/nav')).complete)
  await sameCopies(t, warmed, /<nav data-fragment="nav" class=/, 'shows nav again')
  for (const edge of stack.edges) for (const url of pages) t.notMatch((await read(edge, url)).body, FALLBACK)
})

t.test('a topology reload through the purge service keeps nav late-bound (the service renders the site VCL as the launcher did)', async (t) => {
  const reload = await callJson<{ ok: boolean; edges: Array<{ edge: string; ok: boolean }> }>(purgeApi, 'POST', '/topology/reload', undefined, ops)
  t.equal(reload.status, 200)
  t.ok(reload.json.ok, `every edge took the new VCL: ${JSON.stringify(reload.json.edges)}`)
  t.ok((await purgeUrl('/')).complete, 'the home page purged: its next copy is assembled under the new VCL')
  for (const edge of stack.edges) {
    const page = await read(edge, '/')
    t.equal(page.cache, 'miss', `${edge.name} /: assembled again`)
    t.match(page.body, /<nav data-fragment="nav" class=/)
    t.notMatch(page.body, /<esi:/)
    const copy = [...(await warmPageTier([edge], ['/'], debug, 5)).values()][0]
    t.ok(copy.assembledAt >= page.assembledAt && copy.keys.includes('inc:/fragments/sidebar'), `${edge.name} /: a new copy with its baked includes' keys`)
    t.same(copy.keys.filter((k) => NAV_KEYS.includes(k)), [], `${edge.name} /: still none of nav's keys`)
  }
})
