import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { runPacedReaders } from '../../bench/support/readers.js'
import { envRates } from '../../bench/support/scenario.js'

/** A server that answers /slow after `slowMs` and anything else at once; /missing is a 404. */
async function server(slowMs: number): Promise<{ base: string; paths: string[]; close: () => Promise<void> }> {
  const paths: string[] = []
  const s = http.createServer((req, res) => {
    paths.push(req.url!)
    const answer = () => res.writeHead(req.url === '/missing' ? 404 : 200).end('ok')
    if (req.url === '/slow') setTimeout(answer, slowMs)
    else answer()
  })
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return { base: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, paths, close: () => new Promise((r) => s.close(() => r())) }
}

t.test('sends rate x seconds requests on schedule, in order, and records each one', async (t) => {
  const origin = await server(0)
  t.teardown(origin.close)
  let n = 0
  const result = await runPacedReaders({ base: origin.base, rate: 50, seconds: 1, connections: 4, next: () => `/p${n++}` })
  t.equal(result.requests, 50)
  t.equal(result.latenciesMs.length, 50)
  t.equal(result.errors, 0)
  t.same(origin.paths, Array.from({ length: 50 }, (_, i) => `/p${i}`))
  t.same(result.sentAtMs.slice(0, 3), [0, 20, 40], 'due every 1000 / rate ms')
  t.ok(result.seconds >= 0.98, `ran for the whole second (${result.seconds} s)`)
})

t.test('a request held up behind a slow one counts the wait from when it was due', async (t) => {
  const origin = await server(300)
  t.teardown(origin.close)
  let n = 0
  // One connection: the first request takes 300 ms, the ones due meanwhile queue behind it.
  const result = await runPacedReaders({ base: origin.base, rate: 20, seconds: 0.5, connections: 1, next: () => (n++ === 0 ? '/slow' : '/fast') })
  t.equal(result.requests, 10)
  const second = result.latenciesMs[result.sentAtMs.indexOf(50)]
  t.ok(second >= 240, `the request due at 50 ms waited for the slow one: ${second} ms`)
})

t.test('status errors and refused connections are counted at their due time', async (t) => {
  const origin = await server(0)
  await origin.close()
  const refused = await runPacedReaders({ base: origin.base, rate: 10, seconds: 0.3, connections: 1, next: () => '/' })
  t.equal(refused.errors, 3)
  t.same(refused.errorsAtMs, [0, 100, 200])
  const live = await server(0)
  t.teardown(live.close)
  const missing = await runPacedReaders({ base: live.base, rate: 10, seconds: 0.2, connections: 1, next: () => '/missing' })
  t.equal(missing.errors, 2)
})

t.test('read rates come from a comma-separated list of positive integers', async (t) => {
  const name = 'TESSERA_TEST_READ_RATES'
  t.teardown(() => delete process.env[name])
  t.same(envRates(name, [7]), [7], 'unset: the fallback')
  process.env[name] = '100, 300,1000'
  t.same(envRates(name, [7]), [100, 300, 1000])
  for (const bad of ['100,', 'fast', '0', '2.5', '-3']) {
    process.env[name] = bad
    t.throws(() => envRates(name, [7]), /must be positive integers separated by commas/, bad)
  }
})
