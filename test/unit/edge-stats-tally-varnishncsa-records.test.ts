import t from 'tap'
import { EdgeStats, kindOfUrl, parseRecord } from '../../purge-service/edge-stats.js'

t.test('varnishncsa lines in RECORD_FORMAT become records; untagged or odd lines are skipped', async (t) => {
  t.same(parseRecord('c\tfragment nav hit\t200\t0.000012'), { group: 'fragment', name: 'nav', what: 'hit', status: 200 })
  t.same(parseRecord('b\tfragment nav bgfetch\t200\t0.012500'), { group: 'fragment', name: 'nav', what: 'bgfetch', status: 200, ms: 12.5 })
  t.same(parseRecord('c\tpage article miss\t404\t0.01'), { group: 'page', name: 'notFound', what: 'miss', status: 404 }, 'a page answered 404 is notFound')
  t.same(parseRecord('c\tfragment article miss\t404\t0.01'), { group: 'fragment', name: 'article', what: 'miss', status: 404 }, 'a fragment stays itself')
  t.same(parseRecord('b\tpage home fetch\t503\t-'), { group: 'page', name: 'home', what: 'fetch', status: 503 }, 'no time when the origin never answered')
  t.equal(parseRecord('c\t-\t200\t0.1'), undefined, 'not tagged by stats.vcl')
  t.equal(parseRecord('c\tfragment nav fetch\t200\t0.1'), undefined, 'a fetch is a backend record')
  t.equal(parseRecord('b\tfragment nav hit\t200\t0.1'), undefined, 'a hit is a client record')
  t.equal(parseRecord('garbage'), undefined)
})

t.test('URLs name the same kinds as varnish/stats.vcl', async (t) => {
  t.same(kindOfUrl('/fragments/nav'), { group: 'fragment', name: 'nav' })
  t.same(kindOfUrl('/fragments/article/front/latest'), { group: 'fragment', name: 'article' })
  t.same(kindOfUrl('/fragments/sidebar/_fallback'), { group: 'fallback', name: 'sidebar' })
  t.same(kindOfUrl('/'), { group: 'page', name: 'home' })
  t.same(kindOfUrl('/?utm=x'), { group: 'page', name: 'home' })
  t.same(kindOfUrl('/articles/a-slug'), { group: 'page', name: 'article' })
  t.same(kindOfUrl('/sections/news'), { group: 'page', name: 'section' })
  t.same(kindOfUrl('/robots.txt'), { group: 'page', name: 'other' })
})

t.test('totals, hit ratio, median fetch time and a sliding window', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const stats = new EdgeStats(60, () => now)
  const add = (line: string) => stats.add(parseRecord(line)!)
  add('b\tfragment nav fetch\t200\t0.010')
  add('c\tfragment nav miss\t200\t0.011')
  now += 120_000 // two minutes later: the first two are out of the 60 s window
  for (let i = 0; i < 3; i++) add('c\tfragment nav hit\t200\t0.0001')
  add('c\tfragment nav grace\t200\t0.0001')
  add('b\tfragment nav bgfetch\t200\t0.030')
  add('b\tfragment nav bgfetch\t503\t0.020')
  stats.addPurge('fragment', 'nav')
  const nav = stats.snapshot().fragments.nav!
  t.same(
    { ...nav, window: undefined },
    { hits: 3, misses: 1, graceHits: 1, passes: 0, hitRatio: 0.8, originFetches: 3, originErrors: 1, originFetchMsP50: 20, purgesReceived: 1, window: undefined },
  )
  t.same(nav.window, { hits: 3, misses: 0, graceHits: 1, passes: 0, hitRatio: 1, originFetches: 2, originErrors: 1, originFetchMsP50: 25, purgesReceived: 1 })
  const all = stats.snapshot()
  t.same(Object.keys(all.fragments), ['article', 'nav', 'sections', 'sidebar'], 'every fragment, counted or not')
  t.same(Object.keys(all.pages), ['article', 'home', 'notFound', 'section'])
  t.equal(all.pages.home!.hitRatio, null, 'no deliveries: no ratio')
})
