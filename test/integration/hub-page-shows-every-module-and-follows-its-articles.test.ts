// Hub pages through the real edge, at two nodes: a hub built through the content API shows every kind of
// module, each its own include; an article a module shows, edited, refreshes the hub; one module edited purges
// that module and the hub page only; a schedule ends the page on time; an unknown hub is a 404 page.
import t from 'tap'
import type { Article } from '../../content/model.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { callJson, editable, publishedArticles } from '../support/api.js'
import { counters, get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { acknowledgedPurge, eventsSettled, until } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 2 })
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }
const waitStack = { redisUrl: stack.redisUrl, purgeApi, token: stack.secrets.editorToken }
const [edge1] = stack.edges

interface Seen { status: number; cache: string | null; hits: number; body: string }
async function read(edge: EdgeNode, url: string): Promise<Seen> {
  const res = await get(edge.url, url, debug)
  return { status: res.status, cache: res.headers.get('x-tessera-cache'), hits: Number(res.headers.get('x-tessera-hits')), body: res.body }
}

await eventsSettled(stack.redisUrl)
const articles = await publishedArticles(contentApi, stack.secrets.editorToken)
const latest = [...articles].sort((a, b) => Date.parse(b.publishedAt!) - Date.parse(a.publishedAt!) || (b.id > a.id ? 1 : -1))
// An older article (on no latest list the hub shows), picked and teased by the hub
const picked = latest[latest.length - 1]!
const other = latest.find((a) => a.section !== picked.section && !latest.slice(0, 3).includes(a))!
const hubBlock = { slot: 'main', kind: 'text', content: 'Only on the spring hub', position: 1, scope: 'hub:spring' }
const modules = [
  { kind: 'html', content: '<p class="intro">Spring, <b>at last</b></p><esi:include src="/fragments/nav"/>' },
  { kind: 'blocks', slot: 'main' },
  { kind: 'article-list', source: 'latest', limit: 3 },
  { kind: 'article-list', source: `section:${other.section}`, limit: 2 },
  { kind: 'article-list', source: 'picks', ids: [picked.id, other.id], limit: 2 },
  { kind: 'article-teaser', id: picked.id },
]
const hubPage = '/hubs/spring'
const moduleUrls = modules.map((_, n) => `/fragments/sections/modules/spring/${n}`)
let saved = modules // the modules as the store has them now

t.test('a hub built through the API shows every kind of module, each its own cached include', async (t) => {
  t.equal((await callJson(contentApi, 'PUT', '/blocks/spring-note', hubBlock, editor)).status, 201)
  const created = await callJson<{ slug: string; modules: unknown[] }>(contentApi, 'PUT', '/hubs/spring', { title: 'Spring', description: 'The season, gathered', modules }, editor)
  t.equal(created.status, 201)
  t.equal(created.json.modules.length, modules.length)
  await eventsSettled(stack.redisUrl)

  const page = await read(edge1, hubPage)
  t.equal(page.status, 200)
  t.match(page.body, '<h1 class="page-heading">Spring</h1>')
  t.match(page.body, '<p class="intro">Spring, <b>at last</b></p>', 'html module')
  t.match(page.body, '&lt;esi:include src="/fragments/nav"/>', 'its ESI neutralised, as in an HTML block')
  t.match(page.body, 'Only on the spring hub', 'blocks module: the hub\'s own block')
  for (const a of latest.slice(0, 3)) t.match(page.body, `href="/articles/${a.slug}"`, `latest list: ${a.slug}`)
  t.match(page.body, `data-article-id="${picked.id}"`, 'picks and teaser: the picked article')
  t.equal(page.body.split(`data-article-id="${picked.id}"`).length - 1, 2, 'the picked article twice: in the picks and as the teaser')
  for (const url of moduleUrls) t.equal((await read(edge1, url)).status, 200, `${url} is an include of its own`)
  t.equal((await read(edge1, hubPage)).cache, 'hit', 'the assembled hub page is cached')
  t.notMatch((await read(edge1, '/')).body, 'Only on the spring hub', 'a hub block is not on the home page')
})

t.test('an unknown hub is a 404 page; bad hubs are refused with their field', async (t) => {
  const missing = await read(edge1, '/hubs/no-such-hub')
  t.equal(missing.status, 404)
  t.match(missing.body, 'Page not found')
  const tooMany = await callJson<{ error: { field: string } }>(contentApi, 'PUT', '/hubs/big', { title: 'Big', modules: Array.from({ length: 9 }, () => modules[0]) }, editor)
  t.same([tooMany.status, tooMany.json.error.field], [400, 'modules'])
  const badKind = await callJson<{ error: { field: string } }>(contentApi, 'PUT', '/hubs/bad', { title: 'Bad', modules: [{ kind: 'video' }] }, editor)
  t.same([badKind.status, badKind.json.error.field], [400, 'modules[0].kind'])
  const badPicks = await callJson<{ error: { field: string } }>(contentApi, 'PUT', '/hubs/bad', { title: 'Bad', modules: [{ kind: 'article-list', source: 'picks', limit: 2 }] }, editor)
  t.same([badPicks.status, badPicks.json.error.field], [400, 'modules[0].ids'])
})

const figures: string[] = []
async function purgeOf(what: string, key: string, write: () => Promise<number>, expected: number) {
  const cached = await Promise.all(stack.edges.map(async (edge) => (await counters(edge, 'MAIN.n_object'))['MAIN.n_object']!))
  const since = Date.now()
  t.equal(await write(), expected, `${what}: written`)
  const purge = await acknowledgedPurge(waitStack, key, since)
  const left = await Promise.all(stack.edges.map(async (edge) => (await counters(edge, 'MAIN.n_object'))['MAIN.n_object']!))
  // X-Purged-Count counts an object once per key it matched; n_object says how many objects left the cache
  const removed = cached.map((n, i) => n - left[i]!)
  figures.push(`${what}: keys ${purge.keys.join(' ')}; objects removed ${removed.join(' / ')} of ${cached.join(' / ')} cached (edge1 / edge2; X-Purged-Count ${purge.nodes.map((n) => n.purged).join(' / ')})`)
  return purge
}

async function warmBoth(urls: string[]): Promise<Map<string, Seen>> {
  const seen = new Map<string, Seen>()
  for (const edge of stack.edges) {
    for (const url of urls) await read(edge, url)
    for (const url of urls) seen.set(`${edge.name} ${url}`, await read(edge, url))
  }
  return seen
}

t.test('an article the hub shows, retitled, refreshes the hub at both nodes; modules not showing it stay hits', async (t) => {
  const before = await warmBoth([hubPage, ...moduleUrls])
  const title = `${picked.title} (retitled ${Date.now()})`
  const purge = await purgeOf('article shown in a hub retitled', `article-teaser:${picked.id}`, async () => (await callJson(contentApi, 'PUT', `/articles/${picked.id}`, { ...editable(picked as Article), title }, editor)).status, 200)
  t.ok(purge.complete)
  // (the modules first: assembling the page again looks each include up, which counts as hits)
  for (const edge of stack.edges) {
    for (const n of [0, 1, 2]) {
      const was = before.get(`${edge.name} ${moduleUrls[n]}`)!
      const seen = await read(edge, moduleUrls[n]!)
      t.equal(seen.cache, 'hit', `${edge.name} module ${n} (not showing it) is still a hit`)
      t.equal(seen.hits, was.hits + 1, `${edge.name} module ${n}: the same copy`)
    }
    const page = await read(edge, hubPage)
    t.not(page.cache, 'hit', `${edge.name}: the hub page was purged`)
    t.equal(page.body.split(title).length - 1, 2, `${edge.name}: the new title in the picks and the teaser`)
  }
})

t.test('one module edited: that module and the hub page only', async (t) => {
  const before = await warmBoth([hubPage, ...moduleUrls])
  const edited = modules.map((m, n) => (n === 0 ? { kind: 'html', content: '<p class="intro">Spring, edited</p>' } : m))
  const purge = await purgeOf('one hub module edited', 'module:spring.0', async () => (await callJson(contentApi, 'PUT', '/hubs/spring', { title: 'Spring', description: 'The season, gathered', modules: edited }, editor)).status, 200)
  saved = edited
  t.same(purge.keys, ['module:spring.0'], 'that module\'s key only')
  for (const node of purge.nodes) t.equal(node.purged, 2, `${node.node}: the module and the assembled hub page`)
  for (const edge of stack.edges) {
    for (const n of [1, 2, 3, 4, 5]) {
      const seen = await read(edge, moduleUrls[n]!)
      t.equal(seen.hits, before.get(`${edge.name} ${moduleUrls[n]}`)!.hits + 1, `${edge.name} module ${n}: the same copy`)
    }
    t.match((await read(edge, hubPage)).body, 'Spring, edited', `${edge.name}: the hub shows the edit`)
  }
})

t.test('the hub retitled: its shell and the hub page only', async (t) => {
  await warmBoth([hubPage, ...moduleUrls])
  const purge = await purgeOf('hub retitled', 'hub:spring', async () => (await callJson(contentApi, 'PUT', '/hubs/spring', { title: 'Spring, retitled', description: 'The season, gathered', modules: saved }, editor)).status, 200)
  t.same(purge.keys, ['hub:spring'])
  for (const edge of stack.edges) t.match((await read(edge, hubPage)).body, 'Spring, retitled')
})

t.test('a hub scheduled to end disappears on time, one scheduled to start appears on time; deleted, it is a 404', async (t) => {
  await warmBoth([hubPage, ...moduleUrls])
  const endsAt = new Date(Date.now() + 3000).toISOString()
  await purgeOf('hub scheduled', 'hub:spring', async () => (await callJson(contentApi, 'PUT', '/hubs/spring', { title: 'Spring', modules, endsAt }, editor)).status, 200)
  await until('the scheduled hub page at both nodes', async () => (await Promise.all(stack.edges.map((e) => read(e, hubPage)))).every((p) => p.status === 200))
  t.equal((await read(edge1, hubPage)).cache, 'hit', 'cached until then')
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(endsAt) - Date.now()) + 20))
  for (const edge of stack.edges) t.equal((await read(edge, hubPage)).status, 404, `${edge.name}: gone at endsAt (the TTL was clamped to it)`)

  // scheduled to appear: its 404 is cached until that moment, not for the 404's usual 30 s
  const startsAt = new Date(Date.now() + 3000).toISOString()
  t.equal((await callJson(contentApi, 'PUT', '/hubs/spring', { title: 'Spring again', modules, startsAt }, editor)).status, 200)
  await eventsSettled(stack.redisUrl)
  for (const edge of stack.edges) await read(edge, hubPage)
  for (const edge of stack.edges) {
    const early = await read(edge, hubPage)
    t.same([early.status, early.cache], [404, 'hit'], `${edge.name}: a cached 404 before startsAt`)
  }
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(startsAt) - Date.now()) + 20))
  for (const edge of stack.edges) {
    const shown = await read(edge, hubPage)
    t.equal(shown.status, 200, `${edge.name}: shown at startsAt`)
    t.match(shown.body, 'Spring again')
  }
  t.equal((await callJson(contentApi, 'DELETE', '/hubs/spring', undefined, editor)).status, 204)
  t.equal((await callJson(contentApi, 'GET', '/hubs/spring', undefined, editor)).status, 404)
  t.comment(figures.join('\n'))
})
