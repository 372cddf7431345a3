import t from 'tap'
import { InvalidInput } from '../../platform/errors.js'
import {
  validateArticleInput,
  validateBlockInput,
  validateHubInput,
  validateId,
  validateNavInput,
  validateSectionInput,
  type ArticleInput,
} from '../../content/validate.js'
import { openStore } from './store.js'

const article = { slug: 'harbour-barrier', title: 'The harbour barrier', section: 'news', body: 'First paragraph.\n\nSecond paragraph.' }
const block = { slot: 'main', kind: 'text', content: 'Hello', position: 1 }
const section = { title: 'News', position: 10 }
const kb = (n: number) => 'x'.repeat(n * 1024)

type Case = [name: string, validate: (raw: unknown) => unknown, raw: unknown, field: string]
const cases: Case[] = [
  ['article: not an object', validateArticleInput, [], 'input'],
  ['hub: title missing', validateHubInput, { modules: [] }, 'title'],
  ['hub: modules missing', validateHubInput, { title: 'Hub' }, 'modules'],
  ['hub: nine modules', validateHubInput, { title: 'Hub', modules: Array.from({ length: 9 }, () => ({ kind: 'html', content: 'x' })) }, 'modules'],
  ['hub: module of an unknown kind', validateHubInput, { title: 'Hub', modules: [{ kind: 'video' }] }, 'modules[0].kind'],
  ['hub: blocks module of an unknown slot', validateHubInput, { title: 'Hub', modules: [{ kind: 'blocks', slot: 'footer' }] }, 'modules[0].slot'],
  ['hub: list of an unknown source', validateHubInput, { title: 'Hub', modules: [{ kind: 'article-list', source: 'popular', limit: 3 }] }, 'modules[0].source'],
  ['hub: list limit over a front', validateHubInput, { title: 'Hub', modules: [{ kind: 'article-list', source: 'latest', limit: 13 }] }, 'modules[0].limit'],
  ['hub: ids on a latest list', validateHubInput, { title: 'Hub', modules: [{ kind: 'article-list', source: 'latest', ids: ['1'], limit: 3 }] }, 'modules[0].ids'],
  ['hub: picks without ids', validateHubInput, { title: 'Hub', modules: [{ kind: 'article-list', source: 'picks', limit: 3 }] }, 'modules[0].ids'],
  ['hub: picks naming one twice', validateHubInput, { title: 'Hub', modules: [{ kind: 'article-list', source: 'picks', ids: ['1', '1'], limit: 3 }] }, 'modules[0].ids'],
  ['hub: teaser with a bad id', validateHubInput, { title: 'Hub', modules: [{ kind: 'html', content: 'x' }, { kind: 'article-teaser', id: 'A B' }] }, 'modules[1].id'],
  ['hub: module with an unknown field', validateHubInput, { title: 'Hub', modules: [{ kind: 'html', content: 'x', css: 'y' }] }, 'modules[0].css'],
  ['hub: endsAt before startsAt', validateHubInput, { title: 'Hub', modules: [], startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }, 'endsAt'],
  ['hub: draft not a boolean', validateHubInput, { title: 'Hub', modules: [], draft: 'yes' }, 'draft'],
  ['block: draft not a boolean', validateBlockInput, { ...block, draft: 1 }, 'draft'],
  ['block: scope of an unknown kind', validateBlockInput, { ...block, scope: 'page:home' }, 'scope'],
  ['block: scope without its id', validateBlockInput, { ...block, scope: 'section:' }, 'scope'],
  ['block: scope with a bad slug', validateBlockInput, { ...block, scope: 'section:Bad Slug' }, 'scope'],
  ['block: scope naming two things', validateBlockInput, { ...block, scope: 'article:1:2' }, 'scope'],
  ['block: scope not a string', validateBlockInput, { ...block, scope: 7 }, 'scope'],
  ['article: null', validateArticleInput, null, 'input'],
  ['article: slug missing', validateArticleInput, { ...article, slug: undefined }, 'slug'],
  ['article: slug with capitals and space', validateArticleInput, { ...article, slug: 'Bad Slug' }, 'slug'],
  ['article: slug starting with a dash', validateArticleInput, { ...article, slug: '-x' }, 'slug'],
  ['article: slug of 65 characters', validateArticleInput, { ...article, slug: 'a'.repeat(65) }, 'slug'],
  ['article: slug with a colon (key injection)', validateArticleInput, { ...article, slug: 'a:b' }, 'slug'],
  ['article: title missing', validateArticleInput, { ...article, title: undefined }, 'title'],
  ['article: title blank', validateArticleInput, { ...article, title: '   ' }, 'title'],
  ['article: title of 301 characters', validateArticleInput, { ...article, title: 't'.repeat(301) }, 'title'],
  ['article: title on two lines', validateArticleInput, { ...article, title: 'one\ntwo' }, 'title'],
  ['article: title a number', validateArticleInput, { ...article, title: 42 }, 'title'],
  ['article: section missing', validateArticleInput, { ...article, section: undefined }, 'section'],
  ['article: body missing', validateArticleInput, { ...article, body: undefined }, 'body'],
  ['article: body over 200 KB', validateArticleInput, { ...article, body: kb(200) + 'x' }, 'body'],
  ['article: publishedAt not a date', validateArticleInput, { ...article, publishedAt: 'yesterday' }, 'publishedAt'],
  ['article: publishedAt 30 February', validateArticleInput, { ...article, publishedAt: '2024-02-30T10:00:00Z' }, 'publishedAt'],
  ['article: publishedAt without a zone', validateArticleInput, { ...article, publishedAt: '2030-01-01T10:00:00' }, 'publishedAt'],
  ['article: publishedAt hour 24', validateArticleInput, { ...article, publishedAt: '2030-01-01T24:00:00Z' }, 'publishedAt'],
  ['article: views negative', validateArticleInput, { ...article, views: -1 }, 'views'],
  ['article: views fractional', validateArticleInput, { ...article, views: 1.5 }, 'views'],
  ['article: views as a string', validateArticleInput, { ...article, views: '10' }, 'views'],
  ['article: updatedAt is the store’s', validateArticleInput, { ...article, updatedAt: '2030-01-01T00:00:00Z' }, 'updatedAt'],
  ['article: id comes from the path', validateArticleInput, { ...article, id: '7' }, 'id'],
  ['article: __proto__ key', validateArticleInput, JSON.parse(`{"__proto__":{"x":1},"slug":"a","title":"b","section":"news","body":"c"}`), '__proto__'],
  ['block: unknown slot', validateBlockInput, { ...block, slot: 'footer' }, 'slot'],
  ['block: unknown kind', validateBlockInput, { ...block, kind: 'markdown' }, 'kind'],
  ['block: content over 50 KB', validateBlockInput, { ...block, content: kb(50) + 'x' }, 'content'],
  ['block: content empty', validateBlockInput, { ...block, content: ' ' }, 'content'],
  ['block: snippet that does not compile', validateBlockInput, { ...block, kind: 'snippet', content: '{{#if live}}open' }, 'content'],
  ['block: snippet with a broken mustache', validateBlockInput, { ...block, kind: 'snippet', content: 'Hi {{name' }, 'content'],
  ['block: position missing', validateBlockInput, { ...block, position: undefined }, 'position'],
  ['block: position fractional', validateBlockInput, { ...block, position: 1.5 }, 'position'],
  ['block: startsAt not a date', validateBlockInput, { ...block, startsAt: 'soon' }, 'startsAt'],
  ['block: endsAt before startsAt', validateBlockInput, { ...block, startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }, 'endsAt'],
  ['block: endsAt equal to startsAt', validateBlockInput, { ...block, startsAt: '2030-01-01T00:00:00Z', endsAt: '2030-01-01T01:00:00+01:00' }, 'endsAt'],
  ['section: title missing', validateSectionInput, { position: 1 }, 'title'],
  ['section: position as a string', validateSectionInput, { ...section, position: '1' }, 'position'],
  ['section: description over 1000 characters', validateSectionInput, { ...section, description: 'd'.repeat(1001) }, 'description'],
  ['section: slug comes from the path', validateSectionInput, { ...section, slug: 'news' }, 'slug'],
  ['nav: entries missing', validateNavInput, {}, 'entries'],
  ['nav: 51 entries', validateNavInput, { entries: Array.from({ length: 51 }, (_, i) => ({ label: `L${i}`, href: `/p/${i}` })) }, 'entries'],
  ['nav: entry not an object', validateNavInput, { entries: ['/'] }, 'entries[0]'],
  ['nav: entry with an unknown field', validateNavInput, { entries: [{ label: 'Home', href: '/', target: '_blank' }] }, 'entries[0].target'],
  ['nav: label empty', validateNavInput, { entries: [{ label: '', href: '/' }] }, 'entries[0].label'],
  ['nav: javascript: href', validateNavInput, { entries: [{ label: 'x', href: 'javascript:alert(1)' }] }, 'entries[0].href'],
  ['nav: protocol-relative href', validateNavInput, { entries: [{ label: 'x', href: '//evil.example/' }] }, 'entries[0].href'],
  ['nav: backslash href', validateNavInput, { entries: [{ label: 'x', href: '/\\evil.example' }] }, 'entries[0].href'],
  ['nav: plain http href', validateNavInput, { entries: [{ label: 'x', href: 'http://example.com/' }] }, 'entries[0].href'],
  ['nav: href with credentials', validateNavInput, { entries: [{ label: 'x', href: 'https://u:p@example.com/' }] }, 'entries[0].href'],
  ['nav: relative href without a slash', validateNavInput, { entries: [{ label: 'ok', href: 'sections/news' }] }, 'entries[0].href'],
]

t.test('each bad input is refused with the field that is wrong', async (t) => {
  for (const [name, validate, raw, field] of cases) {
    try {
      validate(raw)
      t.fail(`${name}: accepted`)
    } catch (err) {
      t.ok(err instanceof InvalidInput, `${name}: InvalidInput`)
      t.match(err, { statusCode: 400, field, code: 'TESSERA_INVALID_INPUT' }, `${name}: field ${field}`)
      t.ok((err as Error).message.length > field.length + 5, `${name}: says what is wrong (${(err as Error).message})`)
    }
  }
})

t.test('ids and slugs: 1-64 of [a-z0-9-], not starting with a dash', async (t) => {
  for (const ok of ['a', '42', 'news', 'a-b-c', 'a'.repeat(64)]) t.equal(validateId('id', ok), ok)
  for (const bad of ['', '-a', 'A', 'a_b', 'a/b', 'a.b', 'a'.repeat(65), 'é', 7, null]) {
    t.throws(() => validateId('id', bad), { code: 'TESSERA_INVALID_INPUT', field: 'id' }, `refuses ${JSON.stringify(bad)}`)
  }
})

t.test('good input comes back normalised: trimmed text, UTC dates, only known fields', async (t) => {
  const a = validateArticleInput({ ...article, title: '  The harbour barrier  ', publishedAt: '2030-01-01T10:00:00+02:00', views: 0 })
  t.same(a, { ...article, publishedAt: '2030-01-01T08:00:00.000Z', views: 0 })
  t.equal(validateArticleInput({ ...article, publishedAt: '2030-06-01' }).publishedAt, '2030-06-01T00:00:00.000Z')
  t.equal(validateArticleInput({ ...article, title: 'é'.repeat(300) }).title.length, 300, '300 characters is the limit, inclusive')
  t.equal(validateArticleInput({ ...article, body: kb(200) }).body.length, 200 * 1024, '200 KB is the limit, inclusive')
  t.equal(validateBlockInput({ ...block, content: kb(50) }).content.length, 50 * 1024)
  const b = validateBlockInput({ ...block, kind: 'snippet', content: '{{#if live}}Live{{else}}Soon{{/if}}', startsAt: '2030-01-01T00:00:00Z', endsAt: '2030-01-01T00:00:01Z' })
  t.equal(b.startsAt, '2030-01-01T00:00:00.000Z')
  t.equal(b.endsAt, '2030-01-01T00:00:01.000Z')
  t.same(validateNavInput({ entries: [{ label: ' Home ', href: '/' }, { label: 'Wire', href: 'https://wire.example/today?x=1' }] }), {
    entries: [{ label: 'Home', href: '/' }, { label: 'Wire', href: 'https://wire.example/today?x=1' }],
  })
  t.same(validateNavInput({ entries: [] }), { entries: [] })
  t.same(validateSectionInput({ title: 'News', position: -5, description: ' Daily ' }), { title: 'News', position: -5, description: 'Daily' })
})

t.test('the repository refuses bad input too, and the store is left exactly as it was', async (t) => {
  const store = await openStore(t)
  await store.repo.putSection('news', { title: 'News', position: 1 })
  await store.repo.putArticle('1', { ...article })
  const before = await store.snapshot()

  const refusals: Array<[string, () => Promise<unknown>, string]> = [
    ['bad title', () => store.repo.putArticle('1', { ...article, title: '' }), 'title'],
    ['bad id', () => store.repo.putArticle('Bad:Id', { ...article }), 'id'],
    ['unknown section', () => store.repo.putArticle('2', { ...article, slug: 'other', section: 'sport' }), 'section'],
    ['extra field', () => store.repo.putArticle('2', { ...article, slug: 'other', updatedAt: 'x' } as ArticleInput), 'updatedAt'],
    ['bad block', () => store.repo.putBlock('b1', { slot: 'main', kind: 'snippet', content: '{{#each}}', position: 1 }), 'content'],
    ['bad nav', () => store.repo.putNav({ entries: [{ label: 'x', href: 'ftp://x' }] }), 'entries[0].href'],
    ['bad section slug', () => store.repo.putSection('News!', { title: 'x', position: 1 }), 'slug'],
  ]
  for (const [name, write, field] of refusals) {
    await t.rejects(write(), { code: 'TESSERA_INVALID_INPUT', statusCode: 400, field }, name)
  }
  t.same(await store.snapshot(), before, 'no key, index or event changed')
})
