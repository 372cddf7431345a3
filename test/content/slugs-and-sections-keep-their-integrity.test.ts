import t from 'tap'
import { openStore } from './store.js'

const base = { title: 'A title', section: 'news', body: 'Body.', publishedAt: '2024-05-01T08:00:00.000Z' }

t.test('a slug belongs to one article: a second article cannot take it (409 slug), nothing changes', async (t) => {
  const store = await openStore(t)
  const { repo } = store
  await repo.putSection('news', { title: 'News', position: 1 })
  await repo.putArticle('1', { ...base, slug: 'flood-barrier' })
  const before = await store.snapshot()

  await t.rejects(repo.putArticle('2', { ...base, slug: 'flood-barrier' }), { code: 'TESSERA_CONFLICT', statusCode: 409, field: 'slug' })
  t.same(await store.snapshot(), before, 'store unchanged')

  const again = await repo.putArticle('1', { ...base, slug: 'flood-barrier', title: 'Renamed' })
  t.equal(again.record.title, 'Renamed', 'the owner may keep its slug')

  await repo.putArticle('1', { ...base, slug: 'harbour-barrier' })
  t.equal(await repo.getArticleBySlug('flood-barrier'), undefined, 'changing the slug releases the old one')
  t.equal((await repo.getArticleBySlug('harbour-barrier'))?.id, '1')
  const taken = await repo.putArticle('2', { ...base, slug: 'flood-barrier' })
  t.equal(taken.created, true, 'and another article can now take it')

  await repo.deleteArticle('2')
  t.equal(await repo.getArticleBySlug('flood-barrier'), undefined, 'deleting releases the slug')
})

t.test('an article must name an existing section (400 section)', async (t) => {
  const store = await openStore(t)
  await store.repo.putSection('news', { title: 'News', position: 1 })
  await t.rejects(store.repo.putArticle('1', { ...base, slug: 's', section: 'sport' }), { code: 'TESSERA_INVALID_INPUT', statusCode: 400, field: 'section' })
  t.equal(await store.repo.getArticle('1'), undefined)
})

t.test('a section cannot be deleted while any article, even a draft, is in it', async (t) => {
  const store = await openStore(t)
  const { repo } = store
  await repo.putSection('news', { title: 'News', position: 1 })
  await repo.putSection('culture', { title: 'Culture', position: 2 })
  const draft = { slug: 'draft-one', title: 'A draft', section: 'news', body: 'Not yet.' } // no publishedAt
  await repo.putArticle('1', draft)
  const before = await store.snapshot()

  await t.rejects(repo.deleteSection('news'), { code: 'TESSERA_CONFLICT', statusCode: 409, field: 'slug' })
  t.same(await store.snapshot(), before, 'refused delete changes nothing')
  t.ok(await repo.getSection('news'))

  await repo.putArticle('1', { ...draft, section: 'culture' })
  t.equal(await repo.deleteSection('news'), true, 'after the article moved, the section can go')
  t.equal(await repo.getSection('news'), undefined)
  t.same((await repo.listSections()).map((s) => s.slug), ['culture'])
  await t.rejects(repo.deleteSection('culture'), { code: 'TESSERA_CONFLICT', statusCode: 409 }, 'the article now holds the other section')
  await repo.deleteArticle('1')
  t.equal(await repo.deleteSection('culture'), true, 'and deleting the article frees it')
  t.equal(await repo.isEmpty(), true, 'nothing left behind: the store reads as empty again')
  const leftovers = (await store.redis.keys('tessera:*')).filter((k) => k !== 'tessera:events')
  t.same(leftovers, [], 'no index key survives its last member')
})

t.test('a section deleted while an article is being added to it: one of the two wins, never both', async (t) => {
  const store = await openStore(t)
  const other = store.connect().repo
  for (let round = 0; round < 10; round++) {
    const slug = `s${round}`
    await store.repo.putSection(slug, { title: 'S', position: round })
    const [put, del] = await Promise.allSettled([store.repo.putArticle(`a${round}`, { ...base, slug: `a${round}`, section: slug }), other.deleteSection(slug)])
    const article = await store.repo.getArticle(`a${round}`)
    const section = await store.repo.getSection(slug)
    if (article) t.ok(section, `round ${round}: the article exists, so its section does`)
    else t.equal(put.status, 'rejected', `round ${round}: the article was refused`)
    t.ok(put.status === 'fulfilled' || del.status === 'fulfilled', `round ${round}: one of them succeeded`)
  }
})
