import t from 'tap'
import { EdgeStats, kindOfUrl, parseRecord } from '../../edge-stats/edge-stats.js'

// Lines as `varnishlog -g raw -i VCL_Log` prints them.
const c = (record: string) => `     32771 VCL_Log        c tessera-stats: ${record}`
const b = (record: string) => `     32772 VCL_Log        b tessera-stats: ${record}`

t.test('raw varnishlog lines of tessera-stats records become records; other or odd lines are skipped', async (t) => {
  t.same(parseRecord(c('fragment nav hit 200')), { group: 'fragment', name: 'nav', what: 'hit', status: 200 })
  t.same(parseRecord(b('fragment nav bgfetch 200 12.500')), { group: 'fragment', name: 'nav', what: 'bgfetch', status: 200, ms: 12.5 })
  t.same(parseRecord(c('page article miss 404')), { group: 'page', name: 'notFound', what: 'miss', status: 404 }, 'a page answered 404 is notFound')
  t.same(parseRecord(c('fragment article miss 404')), { group: 'fragment', name: 'article', what: 'miss', status: 404 }, 'a fragment stays itself')
  t.same(parseRecord(b('page home fetch 503 2000.125')), { group: 'page', name: 'home', what: 'fetch', status: 503, ms: 2000.125 }, 'a failed fetch with the time it took')
  t.equal(parseRecord('     32771 VCL_Log        c tessera-tier: / not cached'), undefined, 'another VCL_Log record')
  t.equal(parseRecord(c('fragment nav fetch 200 0.1')), undefined, 'a fetch is a backend record')
  t.equal(parseRecord(b('fragment nav hit 200')), undefined, 'a hit is a client record')
  t.equal(parseRecord(c('fragment nav hit')), undefined, 'no status')
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
  add(b('fragment nav fetch 200 10'))
  add(c('fragment nav miss 200'))
  now += 120_000 // two minutes later: the first two are out of the 60 s window
  for (let i = 0; i < 3; i++) add(c('fragment nav hit 200'))
  add(c('fragment nav grace 200'))
  add(b('fragment nav bgfetch 200 30'))
  add(b('fragment nav bgfetch 503 20'))
  stats.addPurge('fragment', 'nav')
  const nav = stats.snapshot().fragments.nav!
  t.same(
    { ...nav, window: undefined },
    { hits: 3, misses: 1, graceHits: 1, passes: 0, hitRatio: 0.8, originFetches: 3, originErrors: 1, originFetchMsP50: 20, purgesReceived: 1, window: undefined },
  )
  t.same(nav.window, { hits: 3, misses: 0, graceHits: 1, passes: 0, hitRatio: 1, originFetches: 2, originErrors: 1, originFetchMsP50: 25, purgesReceived: 1 })
  const all = stats.snapshot()
  t.same(Object.keys(all.fragments), ['article', 'nav', 'sections', 'sidebar'], 'every fragment, counted or not')
  t.same(Object.keys(all.pages), ['article', 'home', 'hub', 'notFound', 'section'])
  t.equal(all.pages.home!.hitRatio, null, 'no deliveries: no ratio')
})
