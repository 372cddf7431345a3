import t from 'tap'
import { buildContentApi } from '../../content/api/app.js'
import { contentKeys } from '../../content/repository.js'
import { openStore } from './store.js'

const TOKEN = 'editor-token-for-tests-0123456789'
const auth = { authorization: `Bearer ${TOKEN}` }
const input = (id: string, title: string) => ({ slug: `s-${id}`, title, section: 'news', body: 'Text.', publishedAt: '2024-05-01T08:00:00.000Z' })

t.test('cursor pages list every article exactly once, in update order, even with ties and edits between pages', async (t) => {
  const store = await openStore(t)
  const { repo } = store
  await repo.putSection('news', { title: 'News', position: 1 })
  // one batch: every article gets the same updatedAt, so the order falls back to the id
  await repo.importBatch(Array.from({ length: 250 }, (_, i) => ({ kind: 'article' as const, id: `a${String(i).padStart(3, '0')}`, input: input(`a${i}`, `Story ${i}`) })))
  const byOffset = (await repo.listArticles({ offset: 0, limit: 1000 })).items.map((a) => a.id)
  t.equal(byOffset.length, 250)

  const seen: string[] = []
  let cursor: string | undefined
  let pages = 0
  do {
    const page = cursor === undefined ? await repo.listArticles({ offset: 0, limit: 100 }) : await repo.listArticles({ cursor, limit: 100 })
    seen.push(...page.items.map((a) => a.id))
    t.equal(page.total, 250)
    cursor = page.next ?? undefined
    if (++pages === 1) {
      // an edit between pages: the edited article moves to the top, behind the reader; nothing else shifts
      await repo.putArticle('a010', input('a10', 'Story 10, edited'))
    }
  } while (cursor !== undefined)
  t.equal(new Set(seen).size, seen.length, 'no article twice')
  t.same(seen.filter((id) => id !== 'a010'), byOffset.filter((id) => id !== 'a010'), 'the same order as offset paging')
  t.equal((await repo.listArticles({ offset: 0, limit: 1 })).items[0]!.id, 'a010', 'the edited article is first now')

  const app = buildContentApi({ repo, editorToken: TOKEN, logLevel: 'silent' })
  t.teardown(() => app.close())
  const first = (await app.inject({ method: 'GET', url: '/articles?limit=2', headers: auth })).json()
  t.match(first, { total: 250, offset: 0, limit: 2, next: String })
  const second = (await app.inject({ method: 'GET', url: `/articles?limit=2&cursor=${first.next}`, headers: auth })).json()
  t.same(Object.keys(second).sort(), ['items', 'limit', 'next', 'total'])
  t.same(second.items.map((a: { id: string }) => a.id), byOffset.filter((id) => id !== 'a010').slice(1, 3))
  for (const bad of ['x', 'AAAA', `${first.next}&offset=2`]) {
    const res = await app.inject({ method: 'GET', url: `/articles?cursor=${bad}`, headers: auth })
    t.equal(res.statusCode, 400, `cursor ${bad}`)
  }
})

t.test('search reads a word index: word prefixes of id, slug and title, accents and case ignored, kept up to date', async (t) => {
  const { repo, redis } = await openStore(t)
  await repo.putSection('news', { title: 'News', position: 1 })
  await repo.putArticle('1', input('1', 'The harbour opens at last'))
  await repo.putArticle('2', input('2', 'Café culture on the quay'))
  await repo.putArticle('3', input('3', 'Night buses return'))
  const ids = async (q: string) => (await repo.search(q, 20)).filter((h) => h.kind === 'article').map((h) => h.id)
  t.same(await ids('harb'), ['1'])
  t.same(await ids('CAFE'), ['2'], 'accents and case do not matter')
  t.same(await ids('night bus'), ['3'], 'every word must match')
  t.same(await ids('night harbour'), [])
  t.same(await ids('s-2'), ['2'], 'by slug')
  await repo.putArticle('1', input('1', 'The marina opens at last'))
  t.same(await ids('harb'), [], 'an old title’s words leave the index')
  t.same(await ids('marina'), ['1'])
  await repo.deleteArticle('3')
  t.same(await ids('night'), [])
  t.ok((await redis.zcard(contentKeys.searchWords)) > 0)
  t.same(await redis.zrangebylex(contentKeys.searchWords, '[night', '(nighu'), [], 'a deleted article leaves no word behind')
})

t.test('a store written before the indexes gets them once (ensureIndexes), the old update index removed', async (t) => {
  const { repo, redis } = await openStore(t)
  await repo.putSection('news', { title: 'News', position: 1 })
  for (const id of ['1', '2', '3']) await repo.putArticle(id, input(id, `Old story ${id}`))
  // the layout before: no word index, the update index by score
  await redis.del(contentKeys.articlesByUpdate, contentKeys.searchWords, contentKeys.indexVersion)
  await redis.zadd('tessera:articles:updated', 1, '1', 2, '2', 3, '3')
  t.same((await repo.listArticles({ offset: 0, limit: 10 })).items, [], 'before: nothing listed')
  t.same(await repo.ensureIndexes(), { rebuilt: true, articles: 3 })
  t.same((await repo.listArticles({ offset: 0, limit: 10 })).items.map((a) => a.id).sort(), ['1', '2', '3'])
  t.equal((await repo.search('old story 2', 10))[0]!.id, '2')
  t.equal(await redis.exists('tessera:articles:updated'), 0)
  t.same(await repo.ensureIndexes(), { rebuilt: false, articles: 0 }, 'a no-op afterwards')
})

t.test('blocks written before scopes are indexed as site blocks once (ensureIndexes)', async (t) => {
  const { repo, redis } = await openStore(t)
  await repo.putBlock('promo', { slot: 'sidebar', kind: 'text', content: 'Hi', position: 1 })
  // the layout before: the slot's index only
  await redis.del(contentKeys.scopedBlocks('sidebar', 'site'), contentKeys.indexVersion)
  t.same(await repo.listScopedBlocks('sidebar', 'site'), [], 'before: the site scope is empty')
  t.same(await repo.ensureIndexes(), { rebuilt: true, articles: 0 })
  t.same((await repo.listScopedBlocks('sidebar', 'site')).map((b) => b.id), ['promo'])
})
