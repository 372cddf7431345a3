import t from 'tap'
import type { Article } from '../../content/model.js'
import { seedDemoContent } from '../../content/seed.js'
import { BLOCK_SLOTS } from '../../content/model.js'
import { openStore } from './store.js'

const day = 24 * 3_600_000

t.test('the demo seed fills an empty store with a whole magazine, through the repository', async (t) => {
  const store = await openStore(t)
  const { repo } = store
  const now = Date.now()
  t.same(await seedDemoContent(repo), { seeded: true })

  const { items, total } = await repo.listArticles({ offset: 0, limit: 1000 })
  t.ok(total >= 60, `${total} articles`)
  const sections = await repo.listSections()
  t.ok(sections.length >= 3, `${sections.length} sections`)
  t.same(sections.map((s) => s.slug), ['news', 'culture', 'science', 'travel'])

  t.equal(new Set(items.map((a) => a.title)).size, items.length, 'titles are unique')
  t.equal(new Set(items.map((a) => a.slug)).size, items.length, 'slugs are unique')
  for (const a of items) {
    const published = Date.parse(a.publishedAt!)
    if (!(published <= now && published > now - 60 * day)) t.fail(`article ${a.id} published ${a.publishedAt}, not in the past 60 days`)
    if (a.body.split('\n\n').length < 4) t.fail(`article ${a.id} body has fewer than 4 paragraphs`)
    if (/lorem|ipsum|\{[a-zA-Z]+\}/i.test(a.title + a.body)) t.fail(`article ${a.id} has filler or an unfilled placeholder`)
    if (!sections.some((s) => s.slug === a.section)) t.fail(`article ${a.id} is in a missing section`)
  }
  t.ok(new Set(items.map((a) => a.views)).size > 40, 'views vary')
  t.ok(new Set(items.map((a) => a.body)).size === items.length, 'every body is different')
  const spreadDays = (Math.max(...items.map((a) => Date.parse(a.publishedAt!))) - Math.min(...items.map((a) => Date.parse(a.publishedAt!)))) / day
  t.ok(spreadDays > 50, `publication dates spread over ${spreadDays.toFixed(1)} days`)
  t.equal((await repo.listLatest(100)).length, total, 'every seeded article is published')
  for (const s of sections) t.ok((await repo.listLatest(5, { section: s.slug })).length > 0, `section ${s.slug} has articles`)

  const blocks = await repo.listBlocks()
  for (const slot of BLOCK_SLOTS) t.ok(blocks.some((b) => b.slot === slot), `a block in the ${slot} slot`)
  for (const kind of ['text', 'html', 'snippet']) t.ok(blocks.some((b) => b.kind === kind), `a ${kind} block`)
  t.ok(
    blocks.some((b) => b.startsAt !== undefined && Date.parse(b.startsAt) > now && b.endsAt !== undefined),
    'a block scheduled to appear later',
  )

  const nav = await repo.getNav()
  t.same(nav?.entries, [{ label: 'Home', href: '/' }, ...sections.map((s) => ({ label: s.title, href: `/sections/${s.slug}` }))])

  const events = await store.events()
  t.equal(events.length, sections.length + total + blocks.length + 1, 'one change event per seeded record')
  t.ok(events.every((e) => e.op === 'put' && e.before === undefined))

  const snapshot = await store.snapshot()
  t.same(await seedDemoContent(repo), { seeded: false }, 'the second run does nothing')
  t.same(await store.snapshot(), snapshot, 'not a single key or event changed')
})

t.test('the seed leaves a store that already has content alone', async (t) => {
  const { repo } = await openStore(t)
  await repo.putNav({ entries: [] })
  t.same(await seedDemoContent(repo), { seeded: false })
  t.same(await repo.listSections(), [])
})

t.test('the seed is deterministic: same moment, same magazine', async (t) => {
  const store = await openStore(t)
  const now = new Date('2025-03-01T12:00:00Z')
  const strip = (a: Article) => ({ ...a, updatedAt: undefined })
  await seedDemoContent(store.repo, { now })
  const first = (await store.repo.listArticles({ offset: 0, limit: 100 })).items.map(strip).sort((a, b) => a.id.localeCompare(b.id))
  await store.redis.flushall()
  await seedDemoContent(store.repo, { now })
  const second = (await store.repo.listArticles({ offset: 0, limit: 100 })).items.map(strip).sort((a, b) => a.id.localeCompare(b.id))
  t.same(second, first)
})
