// An empty (slot, scope) is cached like a page shell, through the real edge at two nodes: a block added to an
// article's empty slot shows on that article's page on the first read after the purge service's
// acknowledgement, although the empty include was cached for an hour; the slot then keeps the fragment's own
// short policy; deleting the block empties it again. Other articles' pages keep their cached copies.
import t from 'tap'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { callJson, publishedArticles } from '../support/api.js'
import { get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { acknowledgedPurge, eventsSettled } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 2 })
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }
const waitStack = { redisUrl: stack.redisUrl, purgeApi, token: stack.secrets.editorToken }

interface Seen { cache: string | null; hits: number; ttlLeft: number; origin: string | null; policy: string | null; body: string }
async function read(edge: EdgeNode, url: string): Promise<Seen> {
  const res = await get(edge.url, url, debug)
  if (res.status !== 200) throw new Error(`${edge.name} ${url}: ${res.status}`)
  const h = res.headers
  return {
    cache: h.get('x-tessera-cache'),
    hits: Number(h.get('x-tessera-hits')),
    ttlLeft: Number(h.get('x-tessera-ttl-left')),
    origin: h.get('x-tessera-origin-cache-control'),
    policy: h.get('x-tessera-policy'),
    body: res.body,
  }
}

await eventsSettled(stack.redisUrl)
const [aimed, neighbour] = await publishedArticles(contentApi, stack.secrets.editorToken)
if (!aimed || !neighbour) throw new Error('the demo content has fewer than two published articles')
const include = `/fragments/sections/sidebar/article/${aimed.id}`
const page = `/articles/${aimed.slug}`
const otherPage = `/articles/${neighbour.slug}`
const key = `slot:sidebar.article.${aimed.id}`
const BLOCK = 'for-one-article'
const TEXT = 'Only on this one article'

async function warm(urls: string[]): Promise<void> {
  for (const edge of stack.edges) for (const url of urls) for (let i = 0; i < 2; i++) await read(edge, url)
}

t.test('a block added to an article\'s empty slot shows at once after the purge, though the empty slot was cached for an hour', async (t) => {
  await warm([page, otherPage, include])
  const cachedOther = new Map<string, Seen>()
  for (const edge of stack.edges) {
    const empty = await read(edge, include)
    t.equal(empty.cache, 'hit', `${edge.name}: the empty slot is cached`)
    t.match(empty.origin ?? '', 's-maxage=3600', `${edge.name}: with the long policy`)
    t.equal(empty.policy, 'ttl=3600; grace=60; keep=86400; source=default; for=empty-slot')
    t.ok(empty.ttlLeft > 3000, `${edge.name}: ${empty.ttlLeft} s of TTL left`)
    const seen = await read(edge, page)
    t.equal(seen.cache, 'hit', `${edge.name}: the page is an assembled copy`)
    t.notMatch(seen.body, TEXT)
    cachedOther.set(edge.name, await read(edge, otherPage))
  }

  const since = Date.now()
  const put = await callJson(contentApi, 'PUT', `/blocks/${BLOCK}`, { slot: 'sidebar', kind: 'text', content: TEXT, position: 1, scope: `article:${aimed.id}` }, editor)
  t.equal(put.status, 201, 'the content API took the block')
  const purge = await acknowledgedPurge(waitStack, key, since)
  t.ok(purge.complete, 'both nodes acknowledged the purge')
  t.ok(purge.keys.includes(key), `the slot key was purged: ${purge.keys.join(' ')}`)

  for (const edge of stack.edges) {
    const seen = await read(edge, page)
    t.not(seen.cache, 'hit', `${edge.name}: the page copy was purged`)
    t.match(seen.body, TEXT, `${edge.name}: the first read after the acknowledgement shows the block`)
    const filled = await read(edge, include)
    t.match(filled.body, TEXT)
    t.match(filled.origin ?? '', 's-maxage=120', `${edge.name}: a slot with a block keeps the fragment's policy`)
    const other = await read(edge, otherPage)
    t.equal(other.cache, 'hit', `${edge.name}: the neighbour's page is still a hit`)
    t.equal(other.hits, cachedOther.get(edge.name)!.hits + 1, `${edge.name}: the neighbour's same copy`)
    t.notMatch(other.body, TEXT)
  }

  const deletedSince = Date.now()
  const del = await fetch(`${contentApi}/blocks/${BLOCK}`, { method: 'DELETE', headers: editor })
  t.equal(del.status, 204, 'the content API deleted the block')
  t.ok((await acknowledgedPurge(waitStack, key, deletedSince)).complete, 'both nodes acknowledged the purge of the deletion')
  for (const edge of stack.edges) {
    t.notMatch((await read(edge, page)).body, TEXT, `${edge.name}: gone from the page`)
    const empty = await read(edge, include)
    t.match(empty.origin ?? '', 's-maxage=3600', `${edge.name}: empty again, cached long again`)
  }
})
