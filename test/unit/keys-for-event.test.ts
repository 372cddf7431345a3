import t from 'tap'
import { type Article, type Block, type BlockScope, BLOCK_SLOTS, type ChangeEvent, type Hub, type Section } from '../../content/model.js'
import { type ListName, slotKey } from '../../cache/content-keys.js'
import { keysForEvent, listsTouched, type ListsNow } from '../../purge-service/keys-for-event.js'

const now = new Date('2026-06-01T12:00:00Z')
const day = (d: number) => new Date(Date.UTC(2026, 4, d, 8)).toISOString() // 2026-05-<d>T08:00
const article = (over: Partial<Article> = {}): Article => ({
  id: '42', slug: 'tide-tables', title: 'Tide tables', section: 'news', body: 'Text', publishedAt: day(1), updatedAt: day(1), views: 10, ...over,
})
const block = (over: Partial<Block> = {}): Block => ({ id: 'promo', slot: 'sidebar', kind: 'text', content: 'Hi', position: 1, updatedAt: '2026-05-01T00:00:00.000Z', ...over })
const hub = (over: Partial<Hub> = {}): Hub => ({
  slug: 'spring',
  title: 'Spring',
  modules: [{ kind: 'html', content: '<p>Hi</p>' }, { kind: 'article-list', source: 'latest', limit: 5 }, { kind: 'article-teaser', id: '42' }],
  updatedAt: '2026-05-01T00:00:00.000Z',
  ...over,
})
const [html, list, teaser] = hub().modules
const section = (over: Partial<Section> = {}): Section => ({ slug: 'news', title: 'News', position: 1, ...over })
const put = (kind: ChangeEvent['kind'], before: unknown, after: unknown): ChangeEvent =>
  ({ kind, id: 'x', op: after ? 'put' : 'delete', at: now.toISOString(), before, after }) as ChangeEvent

/** Every key a re-sort of `list` can name when the lists are not known (each length, each place). */
const wholeList = (list: ListName, lengths: number[], longest = Math.max(...lengths)) => [
  ...lengths.map((n) => `list:${list}.${n}`),
  ...Array.from({ length: longest }, (_, r) => `in-${list}:${r}.42`),
]
/** A re-sort of `list` for an article that was in no list before (published, created): the lengths only. */
const lengthsOnly = (list: ListName, lengths: number[]) => lengths.map((n) => `list:${list}.${n}`)
/** The place keys of `list` except the one it has now. */
const elsewhere = (list: ListName, longest: number, rank?: number) => Array.from({ length: longest }, (_, r) => r).filter((r) => r !== rank).map((r) => `in-${list}:${r}.42`)

// ---------------------------------------------------------------------------- without the lists (table)

const cases: Array<[string, ChangeEvent, string[]]> = [
  ['article body edited: the body only (lists show no body)', put('article', article(), article({ body: 'New text' })), ['article:42']],
  ['article author edited: the body only', put('article', article(), article({ author: 'Ann' })), ['article:42']],
  ['article title edited: body, shell, teasers, sidebar entries', put('article', article(), article({ title: 'New' })), ['article:42', 'article-head:42', 'article-teaser:42', 'article-link:42']],
  ['article summary edited: body, shell, teasers (the sidebar shows no summary)', put('article', article(), article({ summary: 'So' })), ['article:42', 'article-head:42', 'article-teaser:42']],
  ['article slug changed: the links, and the pages at both slugs', put('article', article(), article({ slug: 'tides' })), ['article-teaser:42', 'article-link:42', 'article-slug:tide-tables', 'article-slug:tides']],
  ['draft edited: nothing shows it', put('article', article({ publishedAt: undefined }), article({ publishedAt: undefined, body: 'x', title: 'y', slug: 'z' })), []],
  ['scheduled article (future date) created: nothing shows it yet', put('article', undefined, article({ publishedAt: '2026-07-01T00:00:00.000Z' })), []],
  ['article published', put('article', article({ publishedAt: undefined }), article()), ['article:42', 'article-slug:tide-tables', ...lengthsOnly('latest', [12, 5]), ...lengthsOnly('popular', [5]), ...lengthsOnly('section-news', [12])]],
  ['article created published', put('article', undefined, article()), ['article:42', 'article-slug:tide-tables', ...lengthsOnly('latest', [12, 5]), ...lengthsOnly('popular', [5]), ...lengthsOnly('section-news', [12])]],
  ['article unpublished', put('article', article(), article({ publishedAt: undefined })), ['article:42', 'article-slug:tide-tables', ...wholeList('latest', [12, 5]), ...wholeList('popular', [5]), ...wholeList('section-news', [12])]],
  ['article deleted', put('article', article(), undefined), ['article:42', 'article-slug:tide-tables', ...wholeList('latest', [12, 5]), ...wholeList('popular', [5]), ...wholeList('section-news', [12])]],
  ['article moved between sections: its body, its shell (its section\'s blocks), and both section fronts (not the latest front or the sidebar)', put('article', article(), article({ section: 'culture' })), ['article:42', 'article-head:42', ...wholeList('section-news', [12]), ...lengthsOnly('section-culture', [12])]],
  ['article re-dated: body and teaser show the date; the latest, section lists', put('article', article(), article({ publishedAt: day(2) })), ['article:42', 'article-teaser:42', ...wholeList('latest', [12, 5]), ...wholeList('section-news', [12])]],
  ['article read count changed: the most-read list only', put('article', article(), article({ views: 11 })), wholeList('popular', [5])],
  ['section renamed: its page, the bodies showing its title, the nav listing sections', put('section', section(), section({ title: 'Latest news' })), ['section:news', 'section-title:news', 'nav-sections']],
  ['section description edited: its page only', put('section', section(), section({ description: 'All the news' })), ['section:news']],
  ['section created', put('section', undefined, section()), ['section:news', 'section-title:news', 'nav-sections']],
  ['section deleted', put('section', section(), undefined), ['section:news', 'section-title:news', 'nav-sections']],
  ['section re-ordered: only a nav that lists sections (the fallback)', put('section', section(), section({ position: 3 })), ['nav-sections']],
  ['block content edited', put('block', block(), block({ content: 'Hello' })), ['block:promo']],
  ['block created', put('block', undefined, block()), ['block:promo', 'slot:sidebar']],
  ['block moved to another slot', put('block', block(), block({ slot: 'main' })), ['block:promo', 'slot:sidebar', 'slot:main']],
  ['block re-ordered', put('block', block(), block({ position: 2 })), ['block:promo', 'slot:sidebar']],
  ['block rescheduled', put('block', block(), block({ endsAt: '2026-07-01T00:00:00.000Z' })), ['block:promo', 'slot:sidebar']],
  ['block deleted', put('block', block(), undefined), ['block:promo', 'slot:sidebar']],
  ['section block created: its (slot, section) include only', put('block', undefined, block({ scope: 'section:news' })), ['block:promo', 'slot:sidebar.section.news']],
  ['section block edited: the block only', put('block', block({ scope: 'section:news' }), block({ scope: 'section:news', content: 'New' })), ['block:promo']],
  ['section block re-ordered: its (slot, section) include', put('block', block({ scope: 'section:news' }), block({ scope: 'section:news', position: 5 })), ['block:promo', 'slot:sidebar.section.news']],
  ['block scope changed from the site to a section: both includes', put('block', block(), block({ scope: 'section:news' })), ['block:promo', 'slot:sidebar', 'slot:sidebar.section.news']],
  ['block scope changed between articles: both articles\' includes', put('block', block({ scope: 'article:1' }), block({ scope: 'article:2' })), ['block:promo', 'slot:sidebar.article.1', 'slot:sidebar.article.2']],
  ['explicit site scope is the site', put('block', block(), block({ scope: 'site' })), ['block:promo']],
  ['hub block moved to another slot', put('block', block({ scope: 'hub:spring' }), block({ scope: 'hub:spring', slot: 'main' })), ['block:promo', 'slot:sidebar.hub.spring', 'slot:main.hub.spring']],
  ['draft block published: its (slot, scope) include', put('block', block({ draft: true }), block()), ['block:promo', 'slot:sidebar']],
  ['section block deleted', put('block', block({ scope: 'section:news' }), undefined), ['block:promo', 'slot:sidebar.section.news']],
  ['hub created: its shell and every module', put('hub', undefined, hub()), ['hub:spring', 'module:spring.0', 'module:spring.1', 'module:spring.2']],
  ['hub deleted: its shell and every module', put('hub', hub(), undefined), ['hub:spring', 'module:spring.0', 'module:spring.1', 'module:spring.2']],
  ['hub title edited: the shell only', put('hub', hub(), hub({ title: 'Spring at sea' })), ['hub:spring']],
  ['hub description edited: the shell only', put('hub', hub(), hub({ description: 'All of it' })), ['hub:spring']],
  ['one module changed: that module only', put('hub', hub(), hub({ modules: [html!, { kind: 'article-list', source: 'latest', limit: 3 }, teaser!] })), ['module:spring.1']],
  ['modules swapped: both places', put('hub', hub(), hub({ modules: [list!, html!, teaser!] })), ['module:spring.0', 'module:spring.1']],
  ['module added at the end: the shell (one more include) and the new place', put('hub', hub(), hub({ modules: [html!, list!, teaser!, { kind: 'blocks', slot: 'main' }] })), ['hub:spring', 'module:spring.3']],
  ['module removed from the middle: the shell and every place after it', put('hub', hub(), hub({ modules: [html!, teaser!] })), ['hub:spring', 'module:spring.1', 'module:spring.2']],
  ['hub scheduled: shown or hidden, so the shell and every module', put('hub', hub(), hub({ endsAt: '2026-07-01T00:00:00.000Z' })), ['hub:spring', 'module:spring.0', 'module:spring.1', 'module:spring.2']],
  ['hub published from a draft: the shell and every module', put('hub', hub({ draft: true }), hub()), ['hub:spring', 'module:spring.0', 'module:spring.1', 'module:spring.2']],
  ['hub saved unchanged: nothing', put('hub', hub(), hub({ updatedAt: '2026-05-02T00:00:00.000Z' })), []],
  ['nav changed', put('nav', { entries: [], updatedAt: 'x' }, { entries: [{ label: 'Home', href: '/' }], updatedAt: 'y' }), ['nav']],
]

for (const [name, event, expected] of cases) {
  t.test(`${name}`, async (t) => {
    t.same(keysForEvent(event, now).sort(), [...new Set(expected)].sort())
  })
}

// ------------------------------------------------------------- with the lists as the store has them now

/** Fourteen other published articles in news, one a day from May 30 back, read 100, 95, ... times; five in culture. */
const others: Article[] = [
  ...Array.from({ length: 14 }, (_, i) => article({ id: `n${String(i).padStart(2, '0')}`, slug: `n${i}`, publishedAt: day(30 - i), views: 100 - 5 * i })),
  ...Array.from({ length: 5 }, (_, i) => article({ id: `c${i}`, slug: `c${i}`, section: 'culture', publishedAt: day(29 - 2 * i) + '', views: 1 })),
]
/** The lists the store would give after the change (the article in its new state among the others). */
function listsWith(a: Article | undefined): ListsNow {
  const all = [...others, ...(a ? [a] : [])].filter((x) => x.publishedAt && Date.parse(x.publishedAt) <= now.getTime())
  const order = (score: (x: Article) => number) => (x: Article, y: Article) => score(y) - score(x) || (y.id > x.id ? 1 : -1)
  const byDate = order((x) => Date.parse(x.publishedAt!))
  return new Map<ListName, Article[]>([
    ['latest', [...all].sort(byDate).slice(0, 13)],
    ['popular', [...all].sort(order((x) => x.views ?? 0)).slice(0, 6)],
    ['section-news', all.filter((x) => x.section === 'news').sort(byDate).slice(0, 13)],
    ['section-culture', all.filter((x) => x.section === 'culture').sort(byDate).slice(0, 13)],
  ])
}
const change = (b: Article | undefined, a: Article | undefined) => keysForEvent(put('article', b, a), now, listsWith(a)).sort()
// Placed by date among news (May 30, 29, ...): May 28 at 12:00 sorts third in news (after n00, n01) and fifth in
// latest (culture's c0 May 29, c1 May 27...): the test computes the places from the lists it builds.
const placeIn = (list: ListName, a: Article) => listsWith(a).get(list)!.findIndex((x) => x.id === a.id)

t.test('re-dated without changing its place: the date it shows, no list re-sorts', async (t) => {
  const b = article({ publishedAt: new Date(Date.UTC(2026, 4, 28, 12)).toISOString() })
  const a = article({ publishedAt: new Date(Date.UTC(2026, 4, 28, 13)).toISOString() })
  t.equal(placeIn('latest', a), placeIn('latest', b))
  t.same(change(b, a), ['article:42', 'article-teaser:42', ...elsewhere('latest', 12, placeIn('latest', a)), ...elsewhere('section-news', 12, placeIn('section-news', a))].sort())
})

t.test('re-dated from the sidebar to further down the front: both latest lists re-sort', async (t) => {
  const b = article({ publishedAt: new Date(Date.UTC(2026, 4, 29, 12)).toISOString() }) // second in latest
  const a = article({ publishedAt: new Date(Date.UTC(2026, 4, 24, 12)).toISOString() }) // below the sidebar's five
  t.ok(placeIn('latest', b) < 5 && placeIn('latest', a) >= 5 && placeIn('latest', a) < 12)
  t.same(
    change(b, a),
    ['article:42', 'article-teaser:42', 'list:latest.12', 'list:latest.5', ...elsewhere('latest', 12, placeIn('latest', a)), 'list:section-news.12', ...elsewhere('section-news', 12, placeIn('section-news', a))].sort(),
  )
})

t.test('re-dated within the front, below what the sidebar shows: the front re-sorts, the sidebar does not', async (t) => {
  const b = article({ publishedAt: new Date(Date.UTC(2026, 4, 25, 12)).toISOString() })
  const a = article({ publishedAt: new Date(Date.UTC(2026, 4, 23, 12)).toISOString() })
  t.ok(placeIn('latest', b) >= 5 && placeIn('latest', a) > placeIn('latest', b) && placeIn('latest', a) < 12)
  const keys = change(b, a)
  t.ok(keys.includes('list:latest.12'))
  t.notOk(keys.includes('list:latest.5'), 'the sidebar shows only the first five')
})

t.test('published below everything a front shows: no list changes', async (t) => {
  const a = article({ publishedAt: day(2) })
  t.equal(placeIn('latest', a), -1, 'not among the first 13')
  const keys = change(article({ publishedAt: undefined }), a)
  t.same(keys.filter((k) => k.startsWith('list:latest') || k.startsWith('list:section-news')), [])
  t.ok(keys.includes('article-slug:tide-tables') && keys.includes('article:42'), 'its own page and body')
})

t.test('published at the top: every latest list, its section front; the most-read list only if it enters it', async (t) => {
  const a = article({ publishedAt: day(31), views: 0 })
  const keys = change(article({ publishedAt: undefined, views: 0 }), a)
  for (const k of ['list:latest.12', 'list:latest.5', 'list:section-news.12']) t.ok(keys.includes(k), k)
  t.notOk(keys.includes('list:popular.5'), 'read by nobody yet: not among the most read')
})

t.test('moved between sections: both fronts only where it leaves or enters them; the latest front and the sidebar not at all', async (t) => {
  const b = article({ publishedAt: day(28) })
  const a = article({ publishedAt: day(28), section: 'culture' })
  const keys = change(b, a)
  t.ok(keys.includes('list:section-news.12') && keys.includes('list:section-culture.12'))
  t.same(keys.filter((k) => k.includes('latest') || k.includes('popular')), [])
  t.same(listsTouched(b, a, now), ['section-news', 'section-culture'])
})

t.test('read count changed without changing its place among the most read: no list', async (t) => {
  const b = article({ views: 97 })
  const a = article({ views: 98 }) // between n00 (100) and n01 (95) both times
  t.same(change(b, a), elsewhere('popular', 5, placeIn('popular', a)))
})

t.test('read count that takes it into the most read: that list', async (t) => {
  const keys = change(article({ views: 10 }), article({ views: 200 }))
  t.ok(keys.includes('list:popular.5'))
  t.same(keys.filter((k) => !k.startsWith('in-popular:')), ['list:popular.5'])
})

t.test('a list that still shows it at an old place is purged whatever the lists say now', async (t) => {
  // An object that shows it at 0 (rendered before other changes) carries in-popular:0.42: not its place now.
  const keys = change(article({ views: 97 }), article({ views: 98 }))
  t.ok(keys.includes('in-popular:0.42') && !keys.includes(`in-popular:${placeIn('popular', article({ views: 98 }))}.42`))
})

t.test('an old article re-dated far below every list names no places (an import of thousands stays a few keys each)', async (t) => {
  const keys = change(article({ publishedAt: day(2) }), article({ publishedAt: day(3) }))
  t.same(keys, ['article-teaser:42', 'article:42'])
})

// An empty (slot, scope) is cached long (fragments/sections/fragment.ts): that holds only because every way a
// block can enter one purges that (slot, scope)'s key, whatever the block's state there.
t.test('every block entering a (slot, scope) purges that slot key, drafts and scheduled ones included', async (t) => {
  const later = '2026-07-01T00:00:00.000Z'
  const states: Array<[string, Partial<Block>]> = [['shown', {}], ['a draft', { draft: true }], ['scheduled later', { startsAt: later }], ['ending later', { endsAt: later }]]
  const scopes: BlockScope[] = ['site', 'section:news', 'article:42', 'hub:spring']
  for (const slot of BLOCK_SLOTS) {
    for (const scope of scopes) {
      const into = { slot, scope }
      const otherSlot = BLOCK_SLOTS.find((s) => s !== slot)!
      const otherScope = scopes.find((s) => s !== scope)!
      for (const [state, over] of states) {
        const arrivals: Array<[string, Block | undefined]> = [
          ['created', undefined],
          ['moved from another slot', block({ slot: otherSlot, scope })],
          ['moved from another scope', block({ slot, scope: otherScope })],
          ['moved from another slot and scope, rescheduled', block({ slot: otherSlot, scope: otherScope, startsAt: '2026-06-15T00:00:00.000Z' })],
        ]
        for (const [how, before] of arrivals) {
          const keys = keysForEvent(put('block', before, block({ ...into, ...over })), now)
          t.ok(keys.includes(slotKey(slot, scope)), `${how} into ${slot} of ${scope}, ${state}: ${keys.join(' ')}`)
        }
      }
    }
  }
})
