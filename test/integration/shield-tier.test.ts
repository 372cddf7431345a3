// The shield tier against the real stack: two edges and one shield varnishd (TESSERA_SHIELD=on) in front of the
// origins. Edges fetch shells and fragments from the shield; purges go to the shield first; a cold edge costs the
// origins nothing; a killed shield costs readers nothing and refills once per object when it returns.
import t from 'tap'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import { reloadEdges } from '../../topology/reload.js'
import { get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled as settled, until } from '../support/wait.js'

const exec = promisify(execFile)

const stack = await startTestStack(t, { edges: 2, shield: true })
const [edge1, edge2] = stack.edges
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const ops = { authorization: `Bearer ${stack.secrets.opsToken}` }
const eventsSettled = () => settled(stack.redisUrl)

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = editor): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, { method, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body !== undefined ? JSON.stringify(body) : undefined })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

const ORIGINS = ['layout', 'nav', 'sidebar', 'article', 'sections']
/** Requests a node sent to each backend (varnishstat VBE.<vcl>.tessera_<name>.req, summed over loaded VCLs), settled. */
async function backendRequests(node: EdgeNode): Promise<Record<string, number>> {
  const read = async () => {
    const { stdout } = await exec('varnishstat', ['-n', node.workDir, '-j', '-f', 'VBE.*'])
    const all = (JSON.parse(stdout) as { counters: Record<string, { value: number }> }).counters
    const out: Record<string, number> = {}
    for (const [name, c] of Object.entries(all)) {
      const m = /^VBE\.[^.]+\.tessera_([a-z0-9_]+)\.req$/.exec(name)
      if (m) out[m[1]] = (out[m[1]] ?? 0) + c.value
    }
    return out
  }
  let previous = await read()
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 150))
    const current = await read()
    if (JSON.stringify(current) === JSON.stringify(previous)) return current
    previous = current
  }
  return previous
}
/** Requests a node sent to the origins (a shield's own backends are all origins). */
const originRequests = async (node: EdgeNode) => {
  const reqs = await backendRequests(node)
  return ORIGINS.reduce((sum, o) => sum + (reqs[o] ?? 0), 0)
}
const shieldRequests = async (edge: EdgeNode) => (await backendRequests(edge)).shield_shield1 ?? 0

const articles = (await call(contentApi, 'GET', '/articles?limit=100')).json.items.filter((a: any) => a.publishedAt && Date.parse(a.publishedAt) < Date.now())
const editable = (a: any) => {
  const { slug, title, section, body, summary, author, publishedAt, views } = a
  return Object.fromEntries(Object.entries({ slug, title, section, body, summary, author, publishedAt, views }).filter(([, v]) => v !== undefined))
}
const pages = ['/', `/articles/${articles[0].slug}`, `/articles/${articles[1].slug}`, '/sections/news']
const fragments = ['/fragments/nav', '/fragments/sidebar', `/fragments/article/${articles[0].id}`]
const urls = [...pages, ...fragments]
const complete = (body: string) => body.includes('data-fragment="nav"') && !body.includes('data-fragment-state="unavailable"')

t.test('a second edge gets every shell and fragment from the shield: no origin request', async (t) => {
  for (const url of urls) t.equal((await get(edge1.url, url)).status, 200, `edge1 ${url}`)
  const shieldBefore = await originRequests(stack.shields[0])
  const edge2Before = await originRequests(edge2)
  const viaShieldBefore = await shieldRequests(edge2)
  for (const url of pages) {
    const res = await get(edge2.url, url)
    t.equal(res.status, 200)
    t.ok(complete(res.body), `edge2 assembled ${url} from the shield's shell and fragments`)
  }
  for (const url of fragments) t.equal((await get(edge2.url, url)).status, 200)
  t.equal((await originRequests(stack.shields[0])) - shieldBefore, 0, 'the shield asked no origin (it held everything)')
  t.equal((await originRequests(edge2)) - edge2Before, 0, 'edge2 asked no origin')
  t.ok((await shieldRequests(edge2)) - viaShieldBefore > 0, 'edge2 fetched from the shield')
  const shell = await get(stack.shields[0].url, pages[1])
  t.match(shell.body, '<esi:include', 'the shield keeps ESI for the edges')
  t.match(shell.headers.get('surrogate-control') ?? '', 'ESI/1.0')
  t.ok(shell.headers.get('x-tessera-includes'), 'and the include list')
  t.ok(shell.headers.get('x-tessera-checked-at'), 'and the origin\'s checked-at time')
  t.match(shell.headers.get('xkey') ?? '', /layout:article/)
})

t.test('a cold edge joining under load costs the origins nothing for what the shield holds', async (t) => {
  let reading = true
  const load = Promise.all([edge1, edge2].map(async (edge) => {
    for (let n = 0; reading; n++) await get(edge.url, urls[n % urls.length])
  }))
  const [port, adminPort, innerPort] = await freePorts(3)
  const shieldBefore = await originRequests(stack.shields[0])
  const cold = await stack.startLooseEdge('edge-cold', { port, adminPort, innerPort })
  for (const url of urls) {
    const res = await get(cold.url, url)
    t.equal(res.status, 200)
    if (pages.includes(url)) t.ok(complete(res.body), `the cold edge served ${url} whole`)
  }
  reading = false
  await load
  t.equal(await originRequests(cold), 0, 'the cold edge sent nothing to an origin')
  t.equal((await originRequests(stack.shields[0])) - shieldBefore, 0, 'nor did the shield on its behalf')
  t.ok((await shieldRequests(cold)) >= urls.length, 'it was filled from the shield')
})

t.test('GET /edges and GET /stats show the shield as a tier', async (t) => {
  const edges = await call(purgeApi, 'GET', '/edges')
  t.equal(edges.status, 200)
  t.equal(edges.json.edges.length, 2)
  t.equal(edges.json.shields.length, 1)
  const shield = edges.json.shields[0]
  t.equal(shield.tier, 'shield')
  t.equal(shield.node, stack.shields[0].url)
  t.equal(shield.admin.reachable, true)
  t.ok(shield.cache.hitRatio > 0 && shield.cache.hitRatio <= 1, `hit ratio ${shield.cache.hitRatio}`)
  t.ok(shield.cache.originFetches > 0, `origin fetches ${shield.cache.originFetches}`)
  t.ok(edges.json.edges.every((e: any) => e.admin.backends.some((b: any) => b.name.endsWith('tessera_shield_shield1') && b.health === 'healthy')), 'each edge sees the shield healthy')
  const stats = await until('the shield\'s log in /stats', async () => {
    const res = await call(purgeApi, 'GET', '/stats', undefined, ops)
    return res.json.shield?.tier.hits > 0 ? res : undefined
  }, 15_000)
  t.ok(stats.json.shield.tier.hitRatio > 0, `the shield tier's hit ratio ${stats.json.shield.tier.hitRatio}`)
  t.ok(stats.json.shield.tier.originFetches > 0, `its origin fetches ${stats.json.shield.tier.originFetches}`)
  t.equal(stats.json.shield.nodes[0].node, stack.shields[0].url)
  t.ok(stats.json.shield.nodes[0].fragments.nav, 'per fragment, as for an edge')
})

t.test('a topology reload loads the new VCL on the shield too, and the tiers keep serving from their caches', async (t) => {
  const before = await originRequests(stack.shields[0])
  const report = await reloadEdges(stack.topology, {
    adminSecret: readFileSync(stack.edges[0].secretFile),
    site: { purgeSecret: stack.secrets.purgeSecret, debugToken: stack.secrets.debugToken, pageTier: stack.config.edge.pageTier, lateIncludes: stack.config.edge.lateIncludes },
  })
  t.equal(report.ok, true, JSON.stringify(report))
  t.equal(report.shields?.length, 1)
  t.equal(report.shields?.[0].ok, true, 'the shield took it')
  t.equal(report.edges.filter((e) => e.ok).length, 2, 'both edges took it')
  for (const edge of stack.edges) for (const url of urls) t.equal((await get(edge.url, url)).status, 200)
  t.equal((await originRequests(stack.shields[0])) - before, 0, 'nothing refetched: the caches were kept')
})

t.test('200 edits under read load at both edges: no read after a purge is acknowledged returns the old version', async (t) => {
  const subject = articles[articles.length - 3]
  await eventsSettled()
  const reads: Array<{ start: number; version: number; node: string; path: string }> = []
  let reading = true
  const reader = async (edge: EdgeNode, path: string) => {
    while (reading) {
      const start = Date.now()
      const res = await get(edge.url, path)
      const m = res.body.match(/Shield v(\d+)/)
      reads.push({ start, version: m ? Number(m[1]) : -1, node: edge.name, path })
    }
  }
  const readers = stack.edges.flatMap((e) => [reader(e, `/fragments/article/${subject.id}`), reader(e, `/articles/${subject.slug}`)])
  const acked: number[] = []
  for (let i = 0; i < 200; i++) {
    const edit = await call(contentApi, 'PUT', `/articles/${subject.id}`, { ...editable(subject), title: `Shield v${i}` })
    if (edit.status !== 200) t.fail(`edit ${i} answered ${edit.status}`)
    await eventsSettled()
    const record = (await call(purgeApi, 'GET', '/purges?limit=5')).json.purges.find((p: any) => p.source === 'event' && p.keys.includes(`article:${subject.id}`))
    if (!record.complete) t.fail(`purge of edit ${i} incomplete: ${JSON.stringify(record.nodes)}`)
    if (record.nodes[0].tier !== 'shield') t.fail('the shield is purged first')
    acked.push(Date.parse(record.ackedAt))
  }
  reading = false
  await Promise.all(readers)
  // (Strictly after: the acknowledgement's time is the purge service's clock in whole milliseconds, so a read that
  // starts within the same millisecond may have been sent before the purge reached the edge.)
  const stale = reads.filter((r) => {
    const newestAcked = acked.findLastIndex((at) => at < r.start)
    return newestAcked >= 0 && r.version < newestAcked
  }).map((r) => ({ ...r, ackedAt: acked[r.version + 1] }))
  t.ok(reads.length > 400, `${reads.length} reads during 200 edits`)
  t.same(stale.slice(0, 10), [], 'no stale read after an acknowledgement, at either edge')
  t.equal(stale.length, 0)
})

t.test('a soft purge goes to the shield first too: the edge refreshes with a new render, not the shield\'s stale copy', async (t) => {
  const url = `/fragments/article/${articles[1].id}`
  const debug = { 'x-tessera-debug': stack.secrets.debugToken }
  await get(edge1.url, url)
  const renderedBefore = (await get(edge1.url, url, debug)).headers.get('x-tessera-rendered-at')
  const purge = await call(purgeApi, 'POST', '/purges', { articles: [articles[1].id], mode: 'soft' })
  t.equal(purge.status, 200)
  t.same(purge.json.nodes.map((n: any) => n.tier), ['shield', 'edge', 'edge'], 'the shield first, then the edges')
  const purgedAt = Date.parse(purge.json.at)
  const stale = await get(edge1.url, url, debug)
  t.equal(stale.headers.get('x-tessera-cache'), 'grace', 'the edge serves its stale copy once while it refreshes')
  const fresh = await until('the edge\'s refreshed copy', async () => {
    const r = await get(edge1.url, url, debug)
    return Number(r.headers.get('x-tessera-ttl-left')) > 0 ? r : undefined
  })
  const rendered = Date.parse(fresh.headers.get('x-tessera-rendered-at') ?? '')
  t.not(fresh.headers.get('x-tessera-rendered-at'), renderedBefore, 'a new render')
  t.ok(rendered >= purgedAt, `rendered at ${new Date(rendered).toISOString()}, after the purge at ${purge.json.at}`)
})

t.test('the shield killed under load: readers see no error; it returns empty and refills once per object', async (t) => {
  const seen: Array<{ status: number; ok: boolean; url: string }> = []
  let reading = true
  const load = Promise.all(stack.edges.flatMap((edge) => [0, 1].map(async (k) => {
    for (let n = k; reading; n++) {
      const url = urls[n % urls.length]
      const res = await get(edge.url, url).catch((err: Error) => ({ status: 0, body: err.message, headers: new Headers() }))
      seen.push({ status: res.status, ok: res.status === 200 && (!pages.includes(url) || complete(res.body)), url })
    }
  })))
  // Misses all the while: nav and the sidebar purged in a loop, so the edges keep fetching.
  let purging = true
  const purges = (async () => {
    while (purging) {
      await call(purgeApi, 'POST', '/purges', { keys: ['nav', 'fragment:sidebar'] })
      await new Promise((r) => setTimeout(r, 100))
    }
  })()
  await until('reads before the kill', async () => seen.length > 50, 20_000)
  await stack.killShield('shield1')
  const killedAt = seen.length
  await until('reads with the shield gone', async () => seen.length > killedAt + 200, 30_000)
  await until('the edges to see the shield sick', async () => {
    const edges = (await call(purgeApi, 'GET', '/edges')).json.edges
    return edges.every((e: any) => e.admin.backends.find((b: any) => b.name.endsWith('tessera_shield_shield1'))?.health === 'sick')
  }, 20_000)
  const shield = await stack.restartShield('shield1')
  await until('the edges to see the shield healthy again', async () => {
    const edges = (await call(purgeApi, 'GET', '/edges')).json.edges
    return edges.every((e: any) => e.admin.backends.find((b: any) => b.name.endsWith('tessera_shield_shield1'))?.health === 'healthy')
  }, 20_000)
  const back = seen.length
  await until('reads with the shield back', async () => seen.length > back + 100, 30_000)
  purging = false
  await purges
  reading = false
  await load
  const errors = seen.filter((s) => !s.ok)
  t.ok(seen.length > 400, `${seen.length} reads, ${seen.length - killedAt} after the kill`)
  t.same(errors.slice(0, 5), [], 'no reader error, no fallback in a page')
  t.equal(errors.length, 0)
  await until('the shield\'s queue to drain', async () => (await call(purgeApi, 'GET', '/edges')).json.shields[0].pending === 0, 30_000)

  // Refilled once per object: nav purged (shield first), then read at both edges: one origin fetch.
  await eventsSettled()
  const before = await originRequests(shield)
  const purge = await call(purgeApi, 'POST', '/purges', { keys: ['nav'] })
  t.equal(purge.status, 200)
  for (const edge of stack.edges) t.match((await get(edge.url, '/fragments/nav')).body, 'data-fragment="nav"')
  t.equal((await originRequests(shield)) - before, 1, 'the empty shield fetched nav once for both edges')
})
