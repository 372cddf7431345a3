import t from 'tap'
import type { Article, ChangeEvent } from '../../content/model.js'
import { openStore } from './store.js'

const article = { slug: 'tram-extension', title: 'The tram extension', section: 'news', body: 'One.\n\nTwo.', publishedAt: '2024-05-01T08:00:00.000Z' }

t.test('every write adds exactly one event whose before/after are the records before and after it', async (t) => {
  const { repo, events } = await openStore(t)
  const last = async (): Promise<[ChangeEvent, number]> => {
    const all = await events()
    return [all[all.length - 1]!, all.length]
  }

  const section = (await repo.putSection('news', { title: 'News', position: 1 })).record
  let [e, n] = await last()
  t.equal(n, 1)
  t.same(e, { kind: 'section', id: 'news', op: 'put', at: e.at, after: section })
  t.notOk('before' in e, 'a created record has no before')

  const sectionV2 = (await repo.putSection('news', { title: 'The News', position: 2 })).record
  ;[e, n] = await last()
  t.equal(n, 2)
  t.same(e, { kind: 'section', id: 'news', op: 'put', at: e.at, before: section, after: sectionV2 })

  const created = await repo.putArticle('42', article)
  t.equal(created.created, true)
  ;[e, n] = await last()
  t.equal(n, 3)
  t.same(e.after, await repo.getArticle('42'), 'after is what the store now holds')
  t.equal(e.at, created.record.updatedAt, 'the event time is the record’s updatedAt')

  const updated = await repo.putArticle('42', { ...article, title: 'The tram extension, again' })
  t.equal(updated.created, false)
  ;[e, n] = await last()
  t.equal(n, 4)
  t.same(e, { kind: 'article', id: '42', op: 'put', at: e.at, before: created.record, after: updated.record })

  t.equal(await repo.deleteArticle('42'), true)
  ;[e, n] = await last()
  t.equal(n, 5)
  t.same(e, { kind: 'article', id: '42', op: 'delete', at: e.at, before: updated.record })
  t.equal(await repo.getArticle('42'), undefined)

  const blk = (await repo.putBlock('promo', { slot: 'sidebar', kind: 'text', content: 'Hi', position: 1 })).record
  const moved = (await repo.putBlock('promo', { slot: 'main', kind: 'text', content: 'Hi', position: 1 })).record
  ;[e, n] = await last()
  t.equal(n, 7)
  t.same(e, { kind: 'block', id: 'promo', op: 'put', at: e.at, before: blk, after: moved }, 'a slot move shows both slots')
  t.equal(await repo.deleteBlock('promo'), true)
  ;[e, n] = await last()
  t.same(e, { kind: 'block', id: 'promo', op: 'delete', at: e.at, before: moved })

  const navV1 = (await repo.putNav({ entries: [{ label: 'Home', href: '/' }] })).record
  const navV2 = (await repo.putNav({ entries: [{ label: 'Home', href: '/' }, { label: 'News', href: '/sections/news' }] })).record
  ;[e, n] = await last()
  t.equal(n, 10)
  t.same(e, { kind: 'nav', id: 'nav', op: 'put', at: e.at, before: navV1, after: navV2 })

  t.equal(await repo.deleteSection('news'), true)
  ;[e, n] = await last()
  t.equal(n, 11)
  t.same(e, { kind: 'section', id: 'news', op: 'delete', at: e.at, before: sectionV2 })

  t.equal(await repo.deleteArticle('42'), false, 'deleting what is not there is false...')
  t.equal(await repo.deleteBlock('promo'), false)
  t.equal(await repo.deleteSection('news'), false)
  t.equal((await events()).length, 11, '...and writes no event')
})

t.test('record, indexes and event are written inside one MULTI/EXEC, after a WATCH of the record', async (t) => {
  const store = await openStore(t)
  await store.repo.putSection('news', { title: 'News', position: 1 })
  const monitorClient = store.connect().redis
  const monitor = await monitorClient.monitor()
  const seen: string[][] = []
  monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.map(String)))
  t.teardown(() => monitor.disconnect())

  await store.repo.putArticle('7', article)
  await store.redis.echo('end-of-test-7')
  for (let i = 0; i < 100 && !seen.some((a) => a[1] === 'end-of-test-7'); i++) await new Promise((r) => setTimeout(r, 10))

  const names = seen.map((a) => a[0]!.toLowerCase())
  const multi = names.indexOf('multi')
  const exec = names.indexOf('exec')
  t.ok(multi > 0 && exec > multi, 'one MULTI ... EXEC')
  t.equal(names.filter((c) => c === 'multi').length, 1, 'exactly one transaction')
  const watch = seen.findIndex((a) => a[0]!.toLowerCase() === 'watch')
  t.ok(watch >= 0 && watch < multi, 'WATCH comes first')
  t.ok(seen[watch]!.includes('tessera:article:7'), 'the record key is watched')
  t.ok(seen[watch]!.includes('tessera:articles:slug'), 'the slug index is watched')
  t.ok(seen[watch]!.includes('tessera:section:news'), 'the section is watched')

  const inside = seen.slice(multi + 1, exec)
  const xadds = seen.filter((a) => a[0]!.toLowerCase() === 'xadd')
  t.equal(xadds.length, 1, 'one XADD')
  t.ok(inside.includes(xadds[0]!), 'the XADD is inside the transaction')
  t.same(xadds[0]!.slice(0, 4), ['xadd', 'tessera:events', '*', 'event'], 'no MAXLEN: the purge service trims only what every consumer group acknowledged')
  t.ok(inside.some((a) => a[0] === 'set' && a[1] === 'tessera:article:7'), 'the record is written inside the transaction')
  const writesOutside = seen
    .slice(0, multi)
    .concat(seen.slice(exec + 1))
    .filter((a) => /^(set|del|hset|hdel|zadd|zrem|sadd|srem|xadd)$/i.test(a[0]!))
  t.same(writesOutside, [], 'nothing is written outside the transaction')
})

t.test('concurrent writers on separate connections never lose an update: each event’s before is the previous after', async (t) => {
  const store = await openStore(t)
  const a = store.repo
  const b = store.connect().repo
  const c = store.connect().repo
  await a.putSection('news', { title: 'News', position: 1 })
  await a.putArticle('1', { ...article, title: 'v0' })

  const writers = [a, b, c]
  const writes = Array.from({ length: 18 }, (_, i) => writers[i % 3]!.putArticle('1', { ...article, title: `v${i + 1}` }))
  const results = await Promise.all(writes)
  t.equal(results.filter((r) => r.created).length, 0)

  const chain = (await store.events()).filter((e) => e.kind === 'article')
  t.equal(chain.length, 19, 'one event per write')
  for (let i = 1; i < chain.length; i++) {
    t.same(chain[i]!.before, chain[i - 1]!.after, `event ${i} starts where event ${i - 1} ended`)
  }
  t.same(await a.getArticle('1'), chain[chain.length - 1]!.after, 'the store holds the last event’s after')
  t.same(new Set(chain.map((e) => (e.after as Article).title)).size, 19, 'every write landed once')
})

t.test('a slug raced for by many writers goes to exactly one of them', async (t) => {
  const store = await openStore(t)
  const repos = [store.repo, store.connect().repo, store.connect().repo]
  await store.repo.putSection('news', { title: 'News', position: 1 })
  const attempts = Array.from({ length: 12 }, (_, i) => repos[i % 3]!.putArticle(`a${i}`, { ...article, slug: 'contested' }))
  const settled = await Promise.allSettled(attempts)
  const won = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [`a${i}`] : []))
  const lost = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected')
  t.equal(won.length, 1, 'one winner')
  t.equal(lost.length, 11)
  for (const l of lost) t.match(l.reason, { statusCode: 409, field: 'slug' })
  t.equal((await store.repo.getArticleBySlug('contested'))?.id, won[0])
  t.equal((await store.repo.listArticles({ offset: 0, limit: 100 })).total, 1, 'only the winner’s article exists')
  t.equal((await store.events()).filter((e) => e.kind === 'article').length, 1, 'and only its event')
})
