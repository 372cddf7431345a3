// TESSERA_INSTANCES: nav runs as three OS processes behind one round_robin director. kill -9 of one of them,
// under read load and while nav is purged in a loop (every purge is a cache miss), costs readers nothing: every
// page is a 200 with the real nav in it, no fallback, no stale copy; the fetches that hit the dead instance were
// retried on another one (retry.vcl).
import { readFileSync } from 'node:fs'
import t from 'tap'
import { VarnishCli } from '../../varnish-cli/varnish-cli.js'
import { get, purgeKeys } from '../support/edge.js'
import { watchEdgeLog } from '../support/edge-log.js'
import { startTestStack } from '../support/stack.js'
import { until } from '../support/wait.js'

const stack = await startTestStack(t, { instances: { nav: 3 } })
const edge = stack.edges[0]
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const articles = (await (await fetch(`${contentApi}/articles?limit=20`, { headers: editor })).json()).items.filter(
  (a: { publishedAt?: string }) => a.publishedAt && Date.parse(a.publishedAt) < Date.now(),
)
const pages = ['/', `/articles/${articles[0].slug}`, '/sections/news', '/fragments/nav']
const cli = await VarnishCli.connect({ host: edge.adminHost, port: edge.adminPort, secret: readFileSync(edge.secretFile) })
t.teardown(() => cli.close())

// (backend.list also lists the director, tessera_nav_instances: healthy while any of its backends is)
const navHealth = async () => Object.fromEntries((await cli.backendList()).filter((b) => /\.tessera_nav_\d$/.test(b.name)).map((b) => [b.name.replace(/^.*\./, ''), b.health]))

t.test('every nav instance is its own backend with its own probe', async (t) => {
  t.equal(stack.instances.nav.length, 3, 'three nav processes')
  t.equal(new Set(stack.instances.nav.map((i) => i.process.pid)).size, 3, 'three distinct OS processes')
  t.equal(new Set(stack.instances.nav.map((i) => i.port)).size, 3, 'each on its own port')
  const health = await until('every nav instance healthy', async () => {
    const h = await navHealth()
    return Object.values(h).length === 3 && Object.values(h).every((s) => s === 'healthy') && h
  }, 30_000)
  t.same(Object.keys(health).sort(), ['tessera_nav_1', 'tessera_nav_2', 'tessera_nav_3'])
  const all = await cli.backendList()
  t.ok(all.filter((b) => !/_instances$|\.tessera_pages$/.test(b.name)).every((b) => b.probe), 'every origin backend has a probe')
  t.same(all.filter((b) => b.name.endsWith('_instances')).map((b) => b.name.replace(/^.*\./, '')).sort(),
    ['tessera_article_instances', 'tessera_layout_instances', 'tessera_nav_instances', 'tessera_sections_instances', 'tessera_sidebar_instances'], 'one director per service')
  t.equal(all.filter((b) => /\.tessera_(layout|sidebar|article|sections)$/.test(b.name)).length, 4, 'the other services have one instance each, under their own name')
})

t.test('kill -9 of one of three nav instances under read load and cache misses: 0 errors, 0 fallback, 0 stale', async (t) => {
  for (const page of pages) await get(edge.url, page)
  const log = await watchEdgeLog(edge)
  const seen: Array<{ path: string; status: number; body: string }> = []
  let running = true
  const readers = Array.from({ length: 4 }, async (_, i) => {
    for (let n = i; running; n++) {
      const path = pages[n % pages.length]
      const res = await get(edge.url, path)
      seen.push({ path, status: res.status, body: res.body })
    }
  })
  let purges = 0
  const purging = (async () => {
    while (running) {
      await purgeKeys(edge, stack.secrets.purgeSecret, ['nav'], 'hard')
      purges++
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  await new Promise((r) => setTimeout(r, 1500))
  const before = log.count(/^tessera-stats: fragment nav miss/)
  await stack.killInstance('nav', 1) // tessera_nav_2
  const killedAt = Date.now()
  await until('the probe to mark tessera_nav_2 sick', async () => (await navHealth()).tessera_nav_2 === 'sick', 30_000)
  t.comment(`probe said sick after ${Date.now() - killedAt} ms`)
  await new Promise((r) => setTimeout(r, 1500))
  running = false
  await Promise.all([...readers, purging])
  await log.stop()

  t.ok(seen.length > 100, `${seen.length} reads, ${purges} purges of nav`)
  t.ok(log.count(/^tessera-stats: fragment nav miss/) - before > 10, 'nav was fetched again and again after the kill (cache misses)')
  t.ok(log.count(/^tessera-retry: \/fragments\/nav.* after tessera_nav_2$/) > 0, `fetches that met the dead instance were retried on another (${log.count(/^tessera-retry:/)} retries)`)
  const errors = seen.filter((s) => s.status !== 200)
  t.same(errors.map((e) => `${e.path} ${e.status}`), [], 'no reader saw an error')
  const withFallback = seen.filter((s) => s.body.includes('data-fragment-state="unavailable"'))
  t.same(withFallback.map((s) => s.path), [], 'no page or fragment showed a fallback')
  t.ok(seen.every((s) => /<nav data-fragment="nav"[^>]*>\s*<[a-z]/.test(s.body) || !s.body.includes('data-fragment="nav"')), 'every nav shown is the real one')
  t.ok(seen.filter((s) => s.path === '/fragments/nav').every((s) => s.body.includes('<nav data-fragment="nav"')), 'every direct nav read has the nav')
  t.equal(log.count(/^tessera-stats: fallback nav /), 0, 'the edge served no nav fallback')
  t.equal(log.count(/^tessera-fallback: /), 0, 'no include failed')
  t.equal(log.count(/^tessera-stats: fragment nav grace/), 0, 'no stale nav was served')
})

t.test('every nav instance down: stale-if-error as before', async (t) => {
  await get(edge.url, '/fragments/nav')
  await purgeKeys(edge, stack.secrets.purgeSecret, ['nav'], 'soft')
  await stack.killInstance('nav', 0)
  await stack.killInstance('nav', 2)
  await until('every nav instance sick', async () => Object.values(await navHealth()).every((s) => s === 'sick'), 30_000)
  const res = await get(edge.url, '/fragments/nav', { 'x-tessera-debug': stack.secrets.debugToken })
  t.equal(res.status, 200)
  t.match(res.body, /<nav data-fragment="nav"/, 'the stale copy is served')
  t.equal(res.headers.get('x-tessera-cache'), 'grace')
})
