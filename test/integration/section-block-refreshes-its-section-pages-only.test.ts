// Block scope through the real edge, at two nodes: a block aimed at a section shows on that section's page and
// its articles' pages only; creating and editing it purges its (slot, section) include and exactly the pages
// showing it; every other object stays the same cached copy. Prints objects purged per change against cached.
import t from 'tap'
import type { Article } from '../../content/model.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { callJson, publishedArticles } from '../support/api.js'
import { counters, get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { acknowledgedPurge, eventsSettled } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 2 })
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }
const waitStack = { redisUrl: stack.redisUrl, purgeApi, token: stack.secrets.editorToken }

interface Seen { cache: string | null; hits: number; body: string }
async function read(edge: EdgeNode, url: string): Promise<Seen> {
  const res = await get(edge.url, url, debug)
  if (res.status !== 200) throw new Error(`${edge.name} ${url}: ${res.status}`)
  return { cache: res.headers.get('x-tessera-cache'), hits: Number(res.headers.get('x-tessera-hits')), body: res.body }
}

await eventsSettled(stack.redisUrl)
const articles = await publishedArticles(contentApi, stack.secrets.editorToken)
const bySection = new Map<string, Article[]>()
for (const a of articles) bySection.set(a.section, [...(bySection.get(a.section) ?? []), a])
const [aimed, other] = [...bySection.keys()]
if (!aimed || !other) throw new Error('the demo content has fewer than two sections with published articles')
const [inside1, inside2] = bySection.get(aimed)!
const outside = bySection.get(other)![0]!
if (!inside1 || !inside2) throw new Error(`the demo section ${aimed} has fewer than two published articles`)

const include = `/fragments/sections/sidebar/section/${aimed}`
const showing = [`/sections/${aimed}`, `/articles/${inside1.slug}`, `/articles/${inside2.slug}`]
const notShowing = ['/', `/sections/${other}`, `/articles/${outside.slug}`, '/fragments/sections/sidebar', '/fragments/sidebar', '/fragments/nav', `/fragments/sections/sidebar/section/${other}`]
const everything = [include, ...showing, ...notShowing]
const BLOCK = 'aimed-promo'

async function warm(): Promise<Map<string, Seen>> {
  const seen = new Map<string, Seen>()
  for (const edge of stack.edges) {
    for (const url of everything) await read(edge, url)
    for (const url of everything) seen.set(`${edge.name} ${url}`, await read(edge, url))
  }
  return seen
}

const figures: string[] = []
async function change(what: string, key: string, status: number, send: () => Promise<number>) {
  const cached = await Promise.all(stack.edges.map(async (edge) => (await counters(edge, 'MAIN.n_object'))['MAIN.n_object']!))
  const since = Date.now()
  t.equal(await send(), status, `${what}: the content API took it`)
  const purge = await acknowledgedPurge(waitStack, key, since)
  t.ok(purge.complete, `${what}: acknowledged by both nodes`)
  const left = await Promise.all(stack.edges.map(async (edge) => (await counters(edge, 'MAIN.n_object'))['MAIN.n_object']!))
  // X-Purged-Count counts an object once per key it matched; n_object says how many objects left the cache
  const removed = cached.map((n, i) => n - left[i]!)
  figures.push(`${what}: keys ${purge.keys.join(' ')}; objects removed ${removed.join(' / ')} of ${cached.join(' / ')} cached (edge1 / edge2; X-Purged-Count ${purge.nodes.map((n) => n.purged).join(' / ')})`)
  return purge
}

t.test('a section block shows on its section\'s pages only; creating and editing it refreshes exactly those, at both nodes', async (t) => {
  await warm()
  const created = await change('section block created', `slot:sidebar.section.${aimed}`, 201, async () =>
    (await callJson(contentApi, 'PUT', `/blocks/${BLOCK}`, { slot: 'sidebar', kind: 'text', content: 'For this section only', position: 1, scope: `section:${aimed}` }, editor)).status,
  )
  t.same(created.keys.sort(), [`block:${BLOCK}`, `slot:sidebar.section.${aimed}`].sort(), 'the block and its (slot, section) include')
  for (const node of created.nodes) t.equal(node.purged, 1 + showing.length, `${node.node}: the include and the ${showing.length} assembled pages showing it`)

  const before = await warm()
  for (const edge of stack.edges) {
    for (const url of showing) t.match(before.get(`${edge.name} ${url}`)!.body, 'For this section only', `${edge.name} ${url} shows it`)
    for (const url of notShowing) t.notMatch(before.get(`${edge.name} ${url}`)!.body, 'For this section only', `${edge.name} ${url} does not`)
  }

  const edited = await change('section block edited', `block:${BLOCK}`, 200, async () =>
    (await callJson(contentApi, 'PUT', `/blocks/${BLOCK}`, { slot: 'sidebar', kind: 'text', content: 'Edited for this section', position: 1, scope: `section:${aimed}` }, editor)).status,
  )
  t.same(edited.keys, [`block:${BLOCK}`], 'the block key only')
  for (const node of edited.nodes) t.equal(node.purged, 1 + showing.length, `${node.node}: the include and the ${showing.length} pages`)

  for (const edge of stack.edges) {
    for (const url of notShowing) {
      const was = before.get(`${edge.name} ${url}`)!
      const seen = await read(edge, url)
      t.equal(seen.cache, 'hit', `${edge.name} ${url} is still a hit`)
      t.equal(seen.hits, was.hits + 1, `${edge.name} ${url}: the same copy`)
    }
    for (const url of [include, ...showing]) {
      const seen = await read(edge, url)
      t.not(seen.cache, 'hit', `${edge.name} ${url} was purged`)
      t.match(seen.body, 'Edited for this section', `${edge.name} ${url} shows the edit`)
    }
  }

  const moved = await change('block scope changed to one article', `slot:sidebar.article.${inside2.id}`, 200, async () =>
    (await callJson(contentApi, 'PUT', `/blocks/${BLOCK}`, { slot: 'sidebar', kind: 'text', content: 'Edited for this section', position: 1, scope: `article:${inside2.id}` }, editor)).status,
  )
  t.same(moved.keys.sort(), [`block:${BLOCK}`, `slot:sidebar.section.${aimed}`, `slot:sidebar.article.${inside2.id}`].sort())
  for (const edge of stack.edges) {
    t.notMatch((await read(edge, `/sections/${aimed}`)).body, 'Edited for this section', `${edge.name}: gone from the section page`)
    t.match((await read(edge, `/articles/${inside2.slug}`)).body, 'Edited for this section', `${edge.name}: on the article it is aimed at`)
    t.notMatch((await read(edge, `/articles/${inside1.slug}`)).body, 'Edited for this section', `${edge.name}: not on its neighbour`)
  }
  t.comment(figures.join('\n'))
})
