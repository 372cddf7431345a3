// The key -> URL index (cache/key-index.ts) in Redis against the real stack: it is written when an
// origin renders, so reads the edge answers from cache leave it alone, renders of URLs it already holds add
// nothing, and only URLs it has not seen grow it; every one of its sets expires (TTL), which bounds it.
import { Redis } from 'ioredis'
import t from 'tap'
import { keyIndexSize } from '../../cache/key-index.js'
import { publishedArticles } from '../support/api.js'
import { counters, get, purgeKeys } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled, until } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 1 })
const [edge] = stack.edges
const redis = new Redis(stack.redisUrl)
t.teardown(() => redis.disconnect())
await eventsSettled(stack.redisUrl)
const articles = await publishedArticles(`http://127.0.0.1:${stack.config.ports.content}`, stack.secrets.editorToken)
const pages = ['/', '/sections/news', ...articles.slice(0, 5).map((a) => `/articles/${a.slug}`)]
const unseen = articles.slice(5, 10).map((a) => `/articles/${a.slug}`)

/** The index once it has stopped changing (origins record their keys just after they answer). */
async function settledIndex(): Promise<Awaited<ReturnType<typeof keyIndexSize>>> {
  let previous = await keyIndexSize(redis)
  return until('the key index to settle', async () => {
    await new Promise((r) => setTimeout(r, 300))
    const current = await keyIndexSize(redis)
    const same = current.keys === previous.keys && current.members === previous.members
    previous = current
    return same ? current : undefined
  }, 20_000)
}

let start: Awaited<ReturnType<typeof keyIndexSize>>

t.test('rendering pages records their keys', async (t) => {
  for (const url of pages) t.equal((await get(edge.url, url)).status, 200, `${url} answers 200`)
  start = await settledIndex()
  t.ok(start.keys > 0 && start.members > 0, `the index holds the pages read so far: ${start.keys} keys, ${start.members} members`)
})

t.test('a thousand reads served from cache add nothing to it', async (t) => {
  const before = await counters(edge, 'MAIN.cache_hit', 'MAIN.backend_req')
  for (let i = 0; i < 1000; i++) await get(edge.url, pages[i % pages.length])
  const after = await counters(edge, 'MAIN.cache_hit', 'MAIN.backend_req')
  t.ok(after['MAIN.cache_hit'] - before['MAIN.cache_hit'] >= 1000, 'the reads were cache hits')
  const index = await settledIndex()
  t.same({ keys: index.keys, members: index.members, bytes: index.bytes }, { keys: start.keys, members: start.members, bytes: start.bytes }, 'same keys, members and bytes')
})

t.test('the same URLs rendered again (after a purge) add nothing either', async (t) => {
  const before = await counters(edge, 'MAIN.backend_req')
  t.ok((await purgeKeys(edge, stack.secrets.purgeSecret, ['fragment:nav', 'fragment:article', 'layout:article', 'layout:home'])) > 0, 'the purge took objects')
  for (const url of pages) t.equal((await get(edge.url, url)).status, 200, `${url} answers 200 again`)
  const after = await counters(edge, 'MAIN.backend_req')
  t.ok(after['MAIN.backend_req'] > before['MAIN.backend_req'], 'the origins rendered them again')
  const index = await settledIndex()
  t.same({ keys: index.keys, members: index.members }, { keys: start.keys, members: start.members }, 'same keys and members')
})

t.test('only URLs it has not seen grow it, and every set it holds expires', async (t) => {
  for (const url of unseen) t.equal((await get(edge.url, url)).status, 200, `${url} answers 200`)
  const index = await settledIndex()
  t.ok(index.members > start.members, `more members after ${unseen.length} new pages: ${start.members} -> ${index.members}`)
  // each new page adds its shell (under its own keys and the inc: key of each of its includes), its body and its
  // own block slots (nav, sidebar, main for the article) under each key they carry: a couple of dozen members
  t.ok(index.members - start.members <= unseen.length * 30, `a bounded number per new page: ${(index.members - start.members) / unseen.length}`)
  t.equal(index.withoutTtl, 0, 'no set without a TTL')
  let cursor = '0'
  let longest = 0
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'tessera:key-urls:*', 'COUNT', 1000)
    cursor = next
    for (const key of keys) longest = Math.max(longest, await redis.ttl(key))
  } while (cursor !== '0')
  t.ok(longest > 0 && longest <= 7 * 24 * 3600, `the longest TTL is at most 7 days: ${longest} s`)
})
