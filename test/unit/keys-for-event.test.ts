import t from 'tap'
import type { Article, Block, ChangeEvent, Section } from '../../content/model.js'
import { keysForEvent } from '../../purge-service/keys-for-event.js'

const now = new Date('2026-06-01T12:00:00Z')
const article = (over: Partial<Article> = {}): Article => ({
  id: '42', slug: 'tide-tables', title: 'Tide tables', section: 'news', body: 'Text', publishedAt: '2026-05-01T00:00:00.000Z', updatedAt: '2026-05-01T00:00:00.000Z', views: 10, ...over,
})
const block = (over: Partial<Block> = {}): Block => ({ id: 'promo', slot: 'sidebar', kind: 'text', content: 'Hi', position: 1, updatedAt: '2026-05-01T00:00:00.000Z', ...over })
const section = (over: Partial<Section> = {}): Section => ({ slug: 'news', title: 'News', position: 1, ...over })
const put = (kind: ChangeEvent['kind'], before: unknown, after: unknown): ChangeEvent =>
  ({ kind, id: 'x', op: after ? 'put' : 'delete', at: now.toISOString(), before, after }) as ChangeEvent

const cases: Array<[string, ChangeEvent, string[]]> = [
  ['article body edited', put('article', article(), article({ body: 'New text' })), ['article:42']],
  ['article title edited', put('article', article(), article({ title: 'New' })), ['article:42']],
  ['draft edited', put('article', article({ publishedAt: undefined }), article({ publishedAt: undefined, body: 'x' })), ['article:42']],
  ['article published', put('article', article({ publishedAt: undefined }), article()), ['article:42', 'list:latest', 'list:popular', 'section:news', 'article-slug:tide-tables']],
  ['article created published', put('article', undefined, article()), ['article:42', 'list:latest', 'list:popular', 'section:news', 'article-slug:tide-tables']],
  ['article unpublished', put('article', article(), article({ publishedAt: undefined })), ['article:42', 'list:latest', 'list:popular', 'section:news', 'article-slug:tide-tables']],
  ['article deleted', put('article', article(), undefined), ['article:42', 'list:latest', 'list:popular', 'section:news', 'article-slug:tide-tables']],
  ['article moved between sections', put('article', article(), article({ section: 'culture' })), ['article:42', 'section:news', 'section:culture']],
  ['article slug changed', put('article', article(), article({ slug: 'tides' })), ['article:42', 'article-slug:tide-tables', 'article-slug:tides']],
  ['article read count changed', put('article', article(), article({ views: 11 })), ['article:42', 'list:popular']],
  ['scheduled article (future date) created', put('article', undefined, article({ publishedAt: '2026-07-01T00:00:00.000Z' })), ['article:42', 'article-slug:tide-tables']],
  ['section renamed', put('section', section(), section({ title: 'Latest news' })), ['section:news', 'section-title:news']],
  ['section description edited', put('section', section(), section({ description: 'All the news' })), ['section:news']],
  ['section created', put('section', undefined, section()), ['section:news', 'nav']],
  ['section re-ordered', put('section', section(), section({ position: 3 })), ['section:news', 'nav']],
  ['block content edited', put('block', block(), block({ content: 'Hello' })), ['block:promo']],
  ['block created', put('block', undefined, block()), ['block:promo', 'slot:sidebar']],
  ['block moved to another slot', put('block', block(), block({ slot: 'main' })), ['block:promo', 'slot:sidebar', 'slot:main']],
  ['block re-ordered', put('block', block(), block({ position: 2 })), ['block:promo', 'slot:sidebar']],
  ['block rescheduled', put('block', block(), block({ endsAt: '2026-07-01T00:00:00.000Z' })), ['block:promo', 'slot:sidebar']],
  ['block deleted', put('block', block(), undefined), ['block:promo', 'slot:sidebar']],
  ['nav changed', put('nav', { entries: [], updatedAt: 'x' }, { entries: [{ label: 'Home', href: '/' }], updatedAt: 'y' }), ['nav']],
]

for (const [name, event, expected] of cases) {
  t.test(`${name} -> ${expected.join(' ')}`, async (t) => {
    t.same(keysForEvent(event, now).sort(), [...expected].sort())
  })
}
