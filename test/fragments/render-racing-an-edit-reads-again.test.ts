// The origin's half of the purge race: a render that read content before an edit whose purge is marked
// while it rendered must not be offered to the edge as cacheable; it reads again.
import { Redis } from 'ioredis'
import t from 'tap'
import { ContentRepository } from '../../content/repository.js'
import { seedDemoContent } from '../../content/seed.js'
import { article } from '../../fragments/article/fragment.js'
import { buildFragmentApp } from '../../fragments/kit/app.js'
import { markPurged } from '../../cache/key-index.js'
import { startRedis } from '../support/redis.js'

const server = await startRedis(t)
const redis = new Redis(server.url)
t.teardown(() => redis.disconnect())
const repo = new ContentRepository(redis)
await seedDemoContent(repo)
const original = (await repo.getArticle('1'))!

/** A repository whose first read of article 1 is followed, before the render ends, by an edit and its purge mark. */
function racingRepository(editsDuringRender: number): ContentRepository {
  let edits = 0
  return new Proxy(repo, {
    get(target, prop, receiver) {
      if (prop !== 'getArticle') return Reflect.get(target, prop, receiver)
      return async (id: string) => {
        const read = await target.getArticle(id)
        if (edits < editsDuringRender) {
          edits++
          const { id: _id, updatedAt: _u, ...input } = (await target.getArticle(id))!
          await target.putArticle(id, { ...input, title: `Edited while rendering ${edits}` })
          await markPurged(redis, [`article:${id}`], Date.now())
        }
        return read
      }
    },
  })
}

t.test('a render overtaken by an edit is done again, and says when it last checked', async (t) => {
  const app = buildFragmentApp(article, { content: racingRepository(1), redis })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/fragments/article/1' })
  t.equal(res.statusCode, 200)
  t.match(res.body, 'Edited while rendering 1', 'the answer has the edit, not the content read before it')
  t.notMatch(res.body, `<h1>${original.title}</h1>`)
  const checkedAt = Number(res.headers['x-tessera-checked-at'])
  t.ok(checkedAt * 1000 >= Date.now() - 5000 && checkedAt * 1000 <= Date.now(), 'X-Tessera-Checked-At is the time of the last check')
  t.match(res.headers['cache-control'], 's-maxage=600')
})

t.test('content that keeps changing under every read is answered but not cacheable', async (t) => {
  const app = buildFragmentApp(article, { content: racingRepository(10), redis })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/fragments/article/1' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['x-tessera-checked-at'], undefined)
})

t.test('a quiet render is cacheable at once, with its keys recorded for previews', async (t) => {
  const app = buildFragmentApp(article, { content: repo, redis })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/fragments/article/2' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['cache-control'], 'public, s-maxage=600, stale-while-revalidate=120, stale-if-error=86400')
  t.match(String(res.headers.xkey), /article:2/)
  t.ok(res.headers['x-tessera-checked-at'])
  await new Promise((r) => setTimeout(r, 50))
  t.ok(await redis.sismember('tessera:key-urls:article:2', '/fragments/article/2'), 'key -> URL index written')
})
