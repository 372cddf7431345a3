import t from 'tap'
import type { ArticleInput } from '../../content/validate.js'
import { openStore } from './store.js'

const hour = 3_600_000
const ago = (h: number) => new Date(Date.now() - h * hour).toISOString()
const art = (slug: string, section: string, extra: Partial<ArticleInput> = {}): ArticleInput => ({
  slug,
  title: `Title ${slug}`,
  section,
  body: 'Paragraph one.\n\nParagraph two.',
  ...extra,
})

t.test('latest: published articles only, newest first, per section on request; drafts and future ones stay out', async (t) => {
  const { repo } = await openStore(t)
  await repo.putSection('news', { title: 'News', position: 1 })
  await repo.putSection('culture', { title: 'Culture', position: 2 })
  await repo.putArticle('1', art('oldest', 'news', { publishedAt: ago(30), views: 5 }))
  await repo.putArticle('2', art('newest', 'culture', { publishedAt: ago(1), views: 50 }))
  await repo.putArticle('3', art('middle', 'news', { publishedAt: ago(10), views: 500 }))
  await repo.putArticle('4', art('draft', 'news', { views: 10_000 }))
  await repo.putArticle('5', art('scheduled', 'news', { publishedAt: new Date(Date.now() + 2 * hour).toISOString(), views: 20_000 }))

  t.same((await repo.listLatest(10)).map((a) => a.slug), ['newest', 'middle', 'oldest'])
  t.same((await repo.listLatest(2)).map((a) => a.slug), ['newest', 'middle'], 'limit is honoured')
  t.same((await repo.listLatest(10, { section: 'news' })).map((a) => a.slug), ['middle', 'oldest'])
  t.same((await repo.listLatest(10, { section: 'culture' })).map((a) => a.slug), ['newest'])
  t.same(await repo.listLatest(10, { section: 'nope' }), [])
  t.same(await repo.listLatest(0), [])
  t.same((await repo.listPopular(10)).map((a) => a.slug), ['middle', 'newest', 'oldest'], 'popular: by views, published only')
  t.same((await repo.listPopular(1)).map((a) => a.slug), ['middle'])

  t.equal((await repo.getArticleBySlug('draft'))?.id, '4', 'drafts are still found by slug (callers decide)')
  t.equal((await repo.getArticleBySlug('scheduled'))?.id, '5')
  t.equal(await repo.getArticleBySlug('missing'), undefined)
  t.equal(await repo.getArticle('Not An Id'), undefined, 'an impossible id is simply not there')

  // unpublish 'middle', move 'newest' to news: lists follow
  await repo.putArticle('3', art('middle', 'news', { views: 500 }))
  await repo.putArticle('2', art('newest', 'news', { publishedAt: ago(1), views: 50 }))
  t.same((await repo.listLatest(10)).map((a) => a.slug), ['newest', 'oldest'], 'unpublished article left latest')
  t.same((await repo.listPopular(10)).map((a) => a.slug), ['newest', 'oldest'], 'and popular')
  t.same((await repo.listLatest(10, { section: 'news' })).map((a) => a.slug), ['newest', 'oldest'])
  t.same(await repo.listLatest(10, { section: 'culture' }), [], 'the moved article left its old section')
  await repo.deleteArticle('2')
  t.same((await repo.listLatest(10)).map((a) => a.slug), ['oldest'])
})

t.test('listArticles: everything, drafts too, most recently updated first, paged with a total', async (t) => {
  const { repo } = await openStore(t)
  await repo.putSection('news', { title: 'News', position: 1 })
  for (const slug of ['a', 'b', 'c', 'd']) {
    await repo.putArticle(slug, art(slug, 'news', slug === 'b' ? {} : { publishedAt: ago(5) }))
    await new Promise((r) => setTimeout(r, 3)) // distinct updatedAt
  }
  await repo.putArticle('a', art('a', 'news', { title: 'A, edited' }))
  const page1 = await repo.listArticles({ offset: 0, limit: 3 })
  t.equal(page1.total, 4)
  t.same(page1.items.map((a) => a.id), ['a', 'd', 'c'])
  const page2 = await repo.listArticles({ offset: 3, limit: 3 })
  t.same(page2.items.map((a) => a.id), ['b'], 'the draft is listed')
  t.same((await repo.listArticles({ offset: 10, limit: 3 })).items, [])
  await t.rejects(repo.listArticles({ offset: -1, limit: 3 }), { code: 'TESSERA_INVALID_INPUT', field: 'offset' })
  await t.rejects(repo.listLatest(1.5), { code: 'TESSERA_INVALID_INPUT', field: 'limit' })
})

t.test('sections by position; blocks by position then id, per slot or all; scheduled fields round-trip', async (t) => {
  const { repo } = await openStore(t)
  t.equal(await repo.isEmpty(), true)
  await repo.putSection('travel', { title: 'Travel', position: 30 })
  await repo.putSection('news', { title: 'News', position: 10, description: 'What happened' })
  await repo.putSection('culture', { title: 'Culture', position: 20 })
  t.equal(await repo.isEmpty(), false)
  t.same((await repo.listSections()).map((s) => s.slug), ['news', 'culture', 'travel'])
  t.same(await repo.getSection('news'), { slug: 'news', title: 'News', position: 10, description: 'What happened' })

  const startsAt = new Date(Date.now() + 24 * hour).toISOString()
  const endsAt = new Date(Date.now() + 48 * hour).toISOString()
  await repo.putBlock('zeta', { slot: 'main', kind: 'text', content: 'Z', position: 1 })
  await repo.putBlock('alpha', { slot: 'main', kind: 'html', content: '<b>A</b>', position: 1 })
  await repo.putBlock('first', { slot: 'main', kind: 'text', content: 'F', position: -3 })
  await repo.putBlock('later', { slot: 'sidebar', kind: 'snippet', content: '{{#if x}}x{{/if}}', position: 0, startsAt, endsAt })
  await repo.putBlock('offset', { slot: 'nav', kind: 'text', content: 'O', position: 2, startsAt: '2031-03-01T12:00:00+02:00' })

  t.same((await repo.listBlocks('main')).map((b) => b.id), ['first', 'alpha', 'zeta'])
  t.same((await repo.listBlocks()).map((b) => b.id), ['first', 'later', 'alpha', 'zeta', 'offset'], 'all slots, by position then id')
  t.same(await repo.listBlocks('nav').then((l) => l.map((b) => b.id)), ['offset'])

  const later = await repo.getBlock('later')
  t.equal(later?.startsAt, startsAt, 'startsAt comes back as sent')
  t.equal(later?.endsAt, endsAt, 'endsAt comes back as sent')
  t.equal((await repo.getBlock('offset'))?.startsAt, '2031-03-01T10:00:00.000Z', 'offsets are stored as the same instant in UTC')
  t.notOk('endsAt' in (await repo.getBlock('offset'))!, 'absent fields stay absent')

  await repo.putBlock('later', { slot: 'sidebar', kind: 'snippet', content: '{{#if x}}x{{/if}}', position: 0 })
  const unscheduled = await repo.getBlock('later')
  t.notOk(unscheduled && ('startsAt' in unscheduled || 'endsAt' in unscheduled), 'a put without schedule clears it')

  await repo.putBlock('alpha', { slot: 'sidebar', kind: 'html', content: '<b>A</b>', position: 5 })
  t.same((await repo.listBlocks('main')).map((b) => b.id), ['first', 'zeta'], 'a moved block leaves its old slot')
  t.same((await repo.listBlocks('sidebar')).map((b) => b.id), ['later', 'alpha'])

  await repo.putBlock('news-promo', { slot: 'sidebar', kind: 'text', content: 'N', position: 2, scope: 'section:news' })
  await repo.putBlock('news-first', { slot: 'sidebar', kind: 'text', content: 'N1', position: 1, scope: 'section:news' })
  t.same((await repo.listScopedBlocks('sidebar', 'section:news')).map((b) => b.id), ['news-first', 'news-promo'], 'a section\'s blocks of a slot, by position')
  t.same((await repo.listScopedBlocks('sidebar', 'site')).map((b) => b.id), ['later', 'alpha'], 'the site\'s blocks only')
  t.same((await repo.listBlocks('sidebar')).map((b) => b.id), ['later', 'news-first', 'news-promo', 'alpha'], 'the slot lists every scope')
  await repo.patchBlock('news-promo', { scope: 'article:42' })
  t.same((await repo.listScopedBlocks('sidebar', 'section:news')).map((b) => b.id), ['news-first'], 'a new scope leaves the old one')
  t.same((await repo.listScopedBlocks('sidebar', 'article:42')).map((b) => b.id), ['news-promo'])
  await repo.patchBlock('news-promo', { scope: null })
  t.same((await repo.listScopedBlocks('sidebar', 'site')).map((b) => b.id), ['later', 'news-promo', 'alpha'], 'no scope: the site')
  await repo.deleteBlock('news-first')
  t.same(await repo.listScopedBlocks('sidebar', 'section:news'), [], 'a deleted block leaves its scope')

  t.equal(await repo.getNav(), undefined)
  const nav = await repo.putNav({ entries: [{ label: 'Home', href: '/' }] })
  t.same(await repo.getNav(), nav.record)
})

t.test('search finds articles, sections and blocks, case-insensitively, up to the limit', async (t) => {
  const { repo } = await openStore(t)
  await repo.putSection('science', { title: 'Science', position: 1 })
  await repo.putSection('travel', { title: 'Slow Travel', position: 2 })
  await repo.putArticle('101', art('glacier-drones', 'science', { title: 'Measuring Glaciers with hobby drones' }))
  await repo.putArticle('102', art('sleeper-train', 'travel', { title: 'The sleeper train north', body: 'glacier in the body is not searched' }))
  await repo.putBlock('live-qa', { slot: 'main', kind: 'text', content: 'Live Q&A about GLACIERS tonight', position: 1 })

  t.same(await repo.search('glacier', 10), [
    { kind: 'article', id: '101', title: 'Measuring Glaciers with hobby drones' },
    { kind: 'block', id: 'live-qa', title: 'main text: Live Q&A about GLACIERS tonight' },
  ])
  t.same(await repo.search('SLEEPER-TRAIN', 10), [{ kind: 'article', id: '102', title: 'The sleeper train north' }], 'by slug')
  t.same(await repo.search('101', 10), [{ kind: 'article', id: '101', title: 'Measuring Glaciers with hobby drones' }], 'by id')
  t.same(await repo.search('travel', 10), [{ kind: 'section', id: 'travel', title: 'Slow Travel' }])
  t.same(await repo.search('live-qa', 10), [{ kind: 'block', id: 'live-qa', title: 'main text: Live Q&A about GLACIERS tonight' }], 'blocks by id')
  t.equal((await repo.search('e', 2)).length, 2, 'limit')
  t.same(await repo.search('   ', 10), [])
  t.same(await repo.search('nothing like this', 10), [])
})
