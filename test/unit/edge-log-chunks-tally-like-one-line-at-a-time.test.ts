import { Registry } from 'prom-client'
import t from 'tap'
import { RecordBatcher } from '../../edge-stats/edge-log-reader.js'
import { EdgeStats, parseRecord, type TrafficRecord } from '../../edge-stats/edge-stats.js'
import { edgeTrafficMetrics, tallyRecords } from '../../purge-service/stats-api.js'

// Lines as `varnishlog -g raw -i VCL_Log` prints them, each with its own vxid.
let vxid = 32768
const c = (record: string) => `${String(vxid++).padStart(10)} VCL_Log        c tessera-stats: ${record}\n`
const b = (record: string) => `${String(vxid++).padStart(10)} VCL_Log        b tessera-stats: ${record}\n`

/** What a batcher handed on, in order. */
function collect(): { batcher: RecordBatcher; got: Array<[TrafficRecord, number]> } {
  const got: Array<[TrafficRecord, number]> = []
  return { batcher: new RecordBatcher((record, count) => got.push([record, count])), got }
}

/** Sum of the counts per record, as "group name what status[ ms]" -> count. */
function totals(got: Array<[TrafficRecord, number]>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [r, count] of got) {
    const key = [r.group, r.name, r.what, r.status, ...(r.ms === undefined ? [] : [r.ms])].join(' ')
    out[key] = (out[key] ?? 0) + count
  }
  return out
}

t.test('a line is handled once its newline arrives, however the output is cut into chunks', async (t) => {
  const { batcher, got } = collect()
  const first = c('fragment nav hit 200')
  batcher.push(first.slice(0, 20))
  batcher.push(first.slice(20, 40))
  t.same(got, [], 'a partial line waits')
  batcher.push(first.slice(40) + c('page article miss 200') + c('fragment nav hit 200').slice(0, 30))
  t.same(totals(got), { 'fragment nav hit 200': 1, 'page article miss 200': 1 }, 'the completed line and the next whole one; the trailing part waits')
  batcher.push('')
  batcher.push('\n\r\n')
  t.same(totals(got), { 'fragment nav hit 200': 1, 'page article miss 200': 1 }, 'a line cut short is not a record; empty lines are nothing')
  batcher.push(c('fragment nav hit 200').replace('\n', '\r\n') + b('fragment nav fetch 200 1.5').replace('\n', '\r\n'))
  t.same(
    totals(got),
    { 'fragment nav hit 200': 2, 'page article miss 200': 1, 'fragment nav fetch 200 1.5': 1 },
    'CRLF line ends read as LF ones',
  )
})

t.test('identical deliveries with different vxids are handed on once per chunk with their count', async (t) => {
  const { batcher, got } = collect()
  batcher.push([...Array(10)].map(() => c('page article hit 200')).join('') + c('fragment nav grace 200') + c('page article hit 200'))
  t.same(got, [
    [{ group: 'page', name: 'article', what: 'hit', status: 200 }, 11],
    [{ group: 'fragment', name: 'nav', what: 'grace', status: 200 }, 1],
  ])
  got.length = 0
  batcher.push(c('page article hit 200') + c('page article miss 404'))
  t.same(got, [
    [{ group: 'page', name: 'article', what: 'hit', status: 200 }, 1],
    [{ group: 'page', name: 'notFound', what: 'miss', status: 404 }, 1],
  ], 'the next chunk is counted on its own')
})

t.test('each origin fetch is handed on alone with its own time', async (t) => {
  const { batcher, got } = collect()
  batcher.push(b('fragment nav fetch 200 1.234') + c('fragment nav miss 200') + b('fragment nav fetch 200 0.5') + b('page home bgfetch 503 2000.125'))
  t.same(got.filter(([r]) => r.what !== 'miss'), [
    [{ group: 'fragment', name: 'nav', what: 'fetch', status: 200, ms: 1.234 }, 1],
    [{ group: 'fragment', name: 'nav', what: 'fetch', status: 200, ms: 0.5 }, 1],
    [{ group: 'page', name: 'home', what: 'bgfetch', status: 503, ms: 2000.125 }, 1],
  ])
})

t.test('other VCL_Log records and odd lines are not records', async (t) => {
  const { batcher, got } = collect()
  batcher.push(
    '     32771 VCL_Log        c tessera-race: nav re-read\n' +
      '     32772 VCL_Log        c tessera-tier: / not cached\n' +
      '     32773 VCL_Log        b tessera-tier: fill 12\n' +
      c('fragment nav fetch 200 0.1') + // a fetch is a backend record
      b('fragment nav hit 200') + // a hit is a client record
      '     32774 VCL_Log        c tessera-stats: fragment nav hit\n' +
      'garbage\n' +
      '         0 CLI            - Rd ping\n',
  )
  t.same(got, [])
})

t.test('past the remembered parses, distinct deliveries are still all counted', async (t) => {
  const { batcher, got } = collect()
  const letters = 'abcdefghijklmnopqrstuvwxyz'
  const names = [...Array(1500)].map((_, i) => letters[i % 26]! + letters[Math.floor(i / 26) % 26]! + letters[Math.floor(i / 676)]!)
  for (let round = 0; round < 2; round++) batcher.push(names.map((name) => c(`fragment ${name} hit 200`)).join(''))
  const counted = totals(got)
  t.equal(Object.keys(counted).length, 1500)
  t.ok(Object.values(counted).every((n) => n === 2), 'each one twice, once a round')
})

t.test('stats and metrics from chunks equal those from the same lines one at a time', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  const lines: string[] = []
  for (let i = 0; i < 2000; i++) {
    if (i % 10 === 3) lines.push(c('fragment nav miss 200'), b(`fragment nav fetch 200 ${(i % 7) + 0.5}`))
    else if (i % 10 === 7) lines.push(c('page home grace 200'), b('page home bgfetch 503 1000'))
    else if (i % 50 === 9) lines.push(c('page article pass 404'))
    else lines.push(c('page article hit 200'), c('fragment nav hit 200'))
  }
  lines.push('     99999 VCL_Log        c tessera-tier: / not cached\n')

  const oneByOne = { stats: new EdgeStats(300, () => now), registry: new Registry() }
  const oldMetrics = edgeTrafficMetrics(oneByOne.registry)
  for (const line of lines) {
    // What the reader did before: readline, parseRecord, EdgeStats.add, requests.inc or fetchTime.observe.
    const r = parseRecord(line.slice(0, -1))
    if (!r) continue
    oneByOne.stats.add(r)
    if (r.what === 'fetch' || r.what === 'bgfetch') {
      if (r.ms !== undefined) oldMetrics.fetchTime.observe({ node: 'edge-1', group: r.group, name: r.name }, r.ms / 1000)
    } else {
      oldMetrics.requests.inc({ node: 'edge-1', group: r.group, name: r.name, cache: r.what })
    }
  }

  const batched = { stats: new EdgeStats(300, () => now), registry: new Registry() }
  const batcher = new RecordBatcher(tallyRecords('edge-1', batched.stats, edgeTrafficMetrics(batched.registry)))
  const output = lines.join('')
  for (let at = 0; at < output.length; at += 4096) batcher.push(output.slice(at, at + 4096)) // a pipe's writes

  t.same(batched.stats.snapshot(), oneByOne.stats.snapshot())
  t.equal(batched.stats.snapshot().pages.article!.hits, 1560, 'every hit counted (2000 - 400 misses and graces - 40 passes)')
  t.same(await batched.registry.getMetricsAsJSON(), await oneByOne.registry.getMetricsAsJSON())
})

t.test('stats count several identical records at once as that many', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  const stats = new EdgeStats(60, () => now)
  stats.add({ group: 'fragment', name: 'nav', what: 'hit', status: 200 }, 5)
  stats.add({ group: 'fragment', name: 'nav', what: 'miss', status: 200 }, 3)
  stats.add({ group: 'fragment', name: 'nav', what: 'fetch', status: 503, ms: 10 }, 2)
  stats.add({ group: 'fragment', name: 'nav', what: 'fetch', status: 200, ms: 40 })
  const { window, ...total } = stats.snapshot().fragments.nav!
  const expected = { hits: 5, misses: 3, graceHits: 0, passes: 0, hitRatio: 0.625, originFetches: 3, originErrors: 2, originFetchMsP50: 10, purgesReceived: 0 }
  t.same(total, expected, 'a fetch time once per fetch: 10, 10, 40')
  t.same(window, expected)
})
