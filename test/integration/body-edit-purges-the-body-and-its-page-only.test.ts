// Invalidation to the field, at two edge nodes: a body edit of an article the home front, its section front and
// the sidebar all list purges its body and its page only; those lists (and the pages showing them) stay hits.
import t from 'tap'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { callJson, editable, publishedArticles } from '../support/api.js'
import { get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { acknowledgedPurge, eventsSettled } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 2 })
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }

interface Seen { cache: string | null; hits: number; renderedAt: string | null; assembledAt: string | null; keys: string[]; body: string }
async function read(edge: EdgeNode, url: string): Promise<Seen> {
  const res = await get(edge.url, url, debug)
  const h = (name: string) => res.headers.get(name)
  if (res.status !== 200) throw new Error(`${edge.name} ${url}: ${res.status}`)
  return { cache: h('x-tessera-cache'), hits: Number(h('x-tessera-hits')), renderedAt: h('x-tessera-rendered-at'), assembledAt: h('x-tessera-assembled-at'), keys: (h('xkey') ?? '').split(' '), body: res.body }
}

await eventsSettled(stack.redisUrl)
const [edge1] = stack.edges
const sidebar = new Set((await read(edge1, '/fragments/sidebar')).keys)
const latest = new Set((await read(edge1, '/fragments/article/front/latest')).keys)
const articles = await publishedArticles(contentApi, stack.secrets.editorToken)
// On every list: the sidebar's latest five, the home front, its section front.
const target = articles.find((a) => sidebar.has(`article-link:${a.id}`) && latest.has(`article-teaser:${a.id}`))
if (!target) throw new Error('the demo content has no article on the sidebar and the home front')

const lists = ['/fragments/sidebar', '/fragments/article/front/latest', `/fragments/article/front/section-${target.section}`]
const listPages = ['/', `/sections/${target.section}`]
const ownPage = `/articles/${target.slug}`
const body = `/fragments/article/${target.id}`

t.test('a body edit refreshes the body and its page on both nodes; the fronts, the sidebar and their pages stay hits', async (t) => {
  // Warm at both nodes: twice, so the second read of each is a hit.
  const before = new Map<string, Seen>()
  for (const edge of stack.edges) {
    for (const url of [...lists, ...listPages, ownPage, body]) await read(edge, url)
    for (const url of [...lists, ...listPages, ownPage, body]) {
      const seen = await read(edge, url)
      t.equal(seen.cache, 'hit', `${edge.name} ${url} is warm`)
      before.set(`${edge.name} ${url}`, seen)
    }
  }
  for (const url of lists) t.ok(before.get(`${edge1.name} ${url}`)!.keys.includes(url === '/fragments/sidebar' ? `article-link:${target.id}` : `article-teaser:${target.id}`), `${url} lists the article`)

  const marker = `Body edit ${Date.now()}: lists show no body.`
  const since = Date.now()
  t.equal((await callJson(contentApi, 'PUT', `/articles/${target.id}`, { ...editable(target), body: `${target.body}\n\n${marker}` }, editor)).status, 200)
  const purge = await acknowledgedPurge({ redisUrl: stack.redisUrl, purgeApi, token: stack.secrets.editorToken }, `article:${target.id}`, since)
  t.same(purge.keys, [`article:${target.id}`], 'the body key only')
  t.ok(purge.complete, 'acknowledged by both nodes')
  for (const node of purge.nodes) t.equal(node.purged, 2, `${node.node} purged 2 objects: the body and the assembled article page`)

  for (const edge of stack.edges) {
    for (const url of [...lists, ...listPages]) {
      const was = before.get(`${edge.name} ${url}`)!
      const seen = await read(edge, url)
      t.equal(seen.cache, 'hit', `${edge.name} ${url} is still a hit`)
      t.equal(seen.hits, was.hits + 1, `${edge.name} ${url}: the same copy`)
      t.equal(seen.body, was.body, `${edge.name} ${url}: the same bytes`)
    }
    const page = await read(edge, ownPage)
    t.match(page.body, marker, `${edge.name} ${ownPage} shows the new body`)
    t.ok(Number(page.assembledAt) * 1000 >= since, `${edge.name} ${ownPage} assembled again after the edit`)
    const fragment = await read(edge, body)
    t.match(fragment.body, marker, `${edge.name} ${body} is the new body`)
    t.ok(Date.parse(fragment.renderedAt ?? '') >= since, `${edge.name} ${body} rendered after the edit`)
  }
})
