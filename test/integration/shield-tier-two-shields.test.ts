// Two shields (issue 14), declared in the topology file under `shield:` (the name for the key), with
// directors.shard by URL at the edges: each object lives on one shield, so across both shields the origins are
// asked for it once, whichever edge asks; purges (and bans) reach both shields before any edge. And issue 16's
// route switch with the shields on: the README's `npm run topology -- reload` moves a legacy route to Tessera
// under read load, the shields reloaded too, and Tessera's page comes through them.
import { execFile } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { projectRoot } from '../../platform/paths.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import { callJson } from '../support/api.js'
import { get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled, until } from '../support/wait.js'
import { backendFetches, settledCounters } from '../../bench/support/edge-counters.js'

const exec = promisify(execFile)
const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-two-shields-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = path.join(dir, 'topology.yaml')
const [layout, nav, sidebar, article, sections, e1, e1Admin, e1Inner, e2, e2Admin, e2Inner, s1, s1Admin, s2, s2Admin] = await freePorts(15)
writeFileSync(file, `
services:
  layout: [127.0.0.1:${layout}]
  nav: [127.0.0.1:${nav}]
  sidebar: [127.0.0.1:${sidebar}]
  article: [127.0.0.1:${article}]
  sections: [127.0.0.1:${sections}]
edges:
  - { name: edge1, url: "http://127.0.0.1:${e1}", admin: "127.0.0.1:${e1Admin}", inner: "127.0.0.1:${e1Inner}" }
  - { name: edge2, url: "http://127.0.0.1:${e2}", admin: "127.0.0.1:${e2Admin}", inner: "127.0.0.1:${e2Inner}" }
shield:
  - { name: shield1, url: "http://127.0.0.1:${s1}", admin: "127.0.0.1:${s1Admin}" }
  - { name: shield2, url: "http://127.0.0.1:${s2}", admin: "127.0.0.1:${s2Admin}" }
`)

const routesFile = path.join(dir, 'routes.yaml')
copyFileSync(path.join(projectRoot, 'legacy-demo', 'routes.yaml'), routesFile)

const stack = await startTestStack(t, {
  topologyFile: file,
  legacy: { demo: true, routesFile },
  env: { TESSERA_DEMO_LEGACY_RENDER_MS: '300', TESSERA_DEMO_LEGACY_ERROR_RATE: '0', TESSERA_DEMO_LEGACY_HANG_RATE: '0' },
})
const [edge1, edge2] = stack.edges
const [shield1, shield2] = stack.shields
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }

const ORIGINS = ['layout', 'nav', 'sidebar', 'article', 'sections']
/** Requests a node sent to the origins (varnishstat, settled). */
const originRequests = async (node: EdgeNode) => {
  const fetches = backendFetches(await settledCounters(node))
  return ORIGINS.reduce((sum, o) => sum + (fetches[o] ?? 0), 0)
}
const tierOriginRequests = async () => (await originRequests(shield1)) + (await originRequests(shield2))

interface ArticleItem { id: string; slug: string; publishedAt?: string; title: string; section: string; body: string; summary?: string; author?: string; views?: number }
await eventsSettled(stack.redisUrl)
const articles = (await callJson<{ items: ArticleItem[] }>(contentApi, 'GET', '/articles?limit=100', undefined, editor)).json.items.filter((a) => a.publishedAt && Date.parse(a.publishedAt) < Date.now())
const pages = ['/', '/sections/news', ...articles.slice(0, 6).map((a) => `/articles/${a.slug}`)]
const fragments = ['/fragments/nav', '/fragments/sidebar', ...articles.slice(0, 6).map((a) => `/fragments/article/${a.id}`)]
const urls = [...pages, ...fragments]

t.test('the topology\'s shield: key starts both shields, and each edge shards over both', async (t) => {
  t.equal(stack.topology.shields.length, 2)
  t.same(stack.shields.map((s) => s.name), ['shield1', 'shield2'])
  const edges = (await callJson<{ shields: Array<{ node: string; tier: string }> }>(purgeApi, 'GET', '/edges', undefined, editor)).json
  t.same(edges.shields.map((s) => [s.node, s.tier]), [[shield1.url, 'shield'], [shield2.url, 'shield']], 'the purge service knows both shields')
})

t.test('each object is fetched from the origins once across both shields, whichever edge asks', async (t) => {
  // (Deltas: the launcher's warm-up of the fallbacks went through the edges and shields before this.)
  const objects = async () => ((await settledCounters(shield1))['MAIN.n_object'] ?? 0) + ((await settledCounters(shield2))['MAIN.n_object'] ?? 0)
  const objectsBefore = await objects()
  const edgeBefore = [await originRequests(edge1), await originRequests(edge2)]
  const tierBefore = await tierOriginRequests()
  const byShieldBefore = [await originRequests(shield1), await originRequests(shield2)]
  for (const url of urls) t.equal((await get(edge1.url, url)).status, 200, `edge1 ${url}`)
  const filled = (await tierOriginRequests()) - tierBefore
  t.ok(filled > 0, `the shields fetched ${filled} objects from the origins for edge1`)
  const byShield = [(await originRequests(shield1)) - byShieldBefore[0], (await originRequests(shield2)) - byShieldBefore[1]]
  t.ok(byShield[0] > 0 && byShield[1] > 0, `both shields hold a share (${byShield.join(' + ')})`)
  t.equal((await originRequests(edge1)) - edgeBefore[0], 0, 'edge1 asked no origin itself')

  // edge2 asks for the same objects: the shard sends each URL to the shield that holds it.
  const tierAfterEdge1 = await tierOriginRequests()
  for (const url of urls) {
    const res = await get(edge2.url, url)
    t.equal(res.status, 200)
    if (pages.includes(url)) t.notMatch(res.body, 'data-fragment-state="unavailable"', `edge2 served ${url} whole`)
  }
  t.equal((await tierOriginRequests()) - tierAfterEdge1, 0, 'no origin request across both shields for edge2: each object was on the shield its URL shards to')
  t.equal((await originRequests(edge2)) - edgeBefore[1], 0, 'edge2 asked no origin itself')
  t.equal((await objects()) - objectsBefore, filled, 'the shields hold one more object per origin fetch: each object once, on one shield')
})

/** When each node's varnishd began the PURGE carrying `key` (its shared log's Timestamp Start), in seconds. */
async function purgeStarts(node: EdgeNode, key: string): Promise<number[]> {
  const { stdout } = await exec('varnishlog', ['-n', node.workDir, '-d', '-g', 'request', '-q', `ReqMethod eq "PURGE" and ReqHeader:xkey-purge ~ "${key}"`, '-i', 'Timestamp'])
  return [...stdout.matchAll(/Timestamp\s+Start: (\d+\.\d+)/g)].map((m) => Number(m[1]))
}

t.test('a purge reaches both shields before any edge, and the edit is fresh at both edges', async (t) => {
  const subject = articles[2]
  const url = `/fragments/article/${subject.id}`
  for (const edge of stack.edges) await get(edge.url, url)
  const title = `Two shields ${Date.now()}`
  const { slug, section, body, summary, author, publishedAt, views } = subject
  const edit = await callJson(contentApi, 'PUT', `/articles/${subject.id}`, Object.fromEntries(Object.entries({ slug, title, section, body, summary, author, publishedAt, views }).filter(([, v]) => v !== undefined)), editor)
  t.equal(edit.status, 200)
  await eventsSettled(stack.redisUrl)
  const record = await until('the edit\'s purge to be acknowledged', async () => {
    const purges = (await callJson<{ purges: Array<{ source: string; keys: string[]; complete: boolean; nodes: Array<{ node: string; tier: string }> }> }>(purgeApi, 'GET', '/purges?limit=10', undefined, editor)).json.purges
    return purges.find((p) => p.source === 'event' && p.keys.includes(`article:${subject.id}`) && p.complete)
  }, 20_000)
  t.same(record.nodes.map((n) => n.tier), ['shield', 'shield', 'edge', 'edge'], 'both shields listed first')
  for (const edge of stack.edges) t.match((await get(edge.url, url)).body, title, `${edge.name} serves the edit`)

  // The order as the nodes saw it: every shield began the purge before any edge did.
  const key = `article:${subject.id}`
  const shieldStarts = [...(await purgeStarts(shield1, key)), ...(await purgeStarts(shield2, key))]
  const edgeStarts = [...(await purgeStarts(edge1, key)), ...(await purgeStarts(edge2, key))]
  // Two passes per node (purge-service/purger.ts: the second before the acknowledgement).
  t.equal(shieldStarts.length, 4, 'each shield had the purge once, in two passes')
  t.equal(edgeStarts.length, 4, 'each edge had it once, in two passes')
  t.ok(Math.max(...shieldStarts) <= Math.min(...edgeStarts), `shields at ${shieldStarts.join(', ')}, edges from ${Math.min(...edgeStarts)}`)
})

t.test('a ban reaches both shields before the edges: the banned object is fetched from the origin again, not from a shield', async (t) => {
  const url = '/fragments/sidebar'
  for (const edge of stack.edges) await get(edge.url, url)
  const before = await tierOriginRequests()
  const ban = await callJson<{ complete: boolean; nodes: Array<{ node: string; tier: string; ok: boolean }> }>(purgeApi, 'POST', '/bans', { prefix: url }, editor)
  t.equal(ban.status, 200, JSON.stringify(ban.json))
  t.same(ban.json.nodes.map((n) => [n.tier, n.ok]), [['shield', true], ['shield', true], ['edge', true], ['edge', true]])
  for (const edge of stack.edges) t.equal((await get(edge.url, url)).status, 200)
  t.equal((await tierOriginRequests()) - before, 1, 'one origin fetch across both shields for both edges: the shield holding it had the ban too')
})

t.test('a legacy route moves to Tessera with the shields on: `npm run topology -- reload` under reads, 0 errors, shields reloaded, the new page through them', async (t) => {
  for (const edge of stack.edges) t.match((await get(edge.url, '/sections/news')).body, 'data-cms="legacy"', `${edge.name}: the legacy's section front`)
  let reading = true
  let reads = 0
  const errors: string[] = []
  const readers = stack.edges.map(async (edge) => {
    for (let n = 0; reading; n++) {
      const p = ['/sections/news', '/video/harbour-at-dawn', '/', '/sections/science'][n % 4]
      try {
        const res = await get(edge.url, p)
        reads++
        if (res.status !== 200) errors.push(`${edge.name} ${p}: ${res.status}`)
      } catch (err) {
        errors.push(`${edge.name} ${p}: ${(err as Error).message}`)
      }
    }
  })
  await until('readers to be reading', async () => reads > 20, 20_000)
  writeFileSync(routesFile, readFileSync(routesFile, 'utf8').replace('{ name: sections, prefix: /sections/, to: legacy }', '{ name: sections, prefix: /sections/, to: tessera }'))
  // As the README says: the same environment as the running stack (here its topology file and state dir).
  const { stdout } = await exec(process.execPath, [path.join(projectRoot, 'dist', 'topology', 'cli.js'), 'reload'], {
    env: { ...process.env, TESSERA_TOPOLOGY: file, TESSERA_STATE_DIR: stack.config.stateDir, REDIS_URL: stack.redisUrl, TESSERA_DEMO_LEGACY: 'on', TESSERA_DEMO_LEGACY_PORT: String(stack.config.demoLegacyPort), TESSERA_ROUTES: routesFile },
  })
  t.match(stdout, /shield1: now runs /, 'shield1 took the new VCL')
  t.match(stdout, /shield2: now runs /, 'shield2 too')
  t.match(stdout, /every edge \(2\) and shield \(2\) runs /)
  for (const edge of stack.edges) await until(`${edge.name} to answer /sections/news itself`, async () => (await get(edge.url, '/sections/news')).body.includes('data-fragment="nav"'), 20_000)
  const atSwitch = reads
  await until('readers to go on after the switch', async () => reads > atSwitch + 20, 20_000)
  reading = false
  await Promise.all(readers)
  t.same(errors, [], `0 reader errors over ${reads} reads during the switch`)
  const edgeOrigin = [await originRequests(edge1), await originRequests(edge2)]
  for (const edge of stack.edges) {
    const page = await get(edge.url, '/sections/culture')
    t.equal(page.status, 200)
    t.notMatch(page.body, 'data-fragment-state="unavailable"', `${edge.name}: Tessera's section page, whole`)
  }
  t.same([await originRequests(edge1), await originRequests(edge2)], edgeOrigin, 'the edges still fetch Tessera\'s shells and fragments through the shields, not from the origins')
})

t.test('one of the two shields killed under load: readers see no error; it returns empty and serves its share again', async (t) => {
  let reading = true
  let reads = 0
  const errors: string[] = []
  const readers = stack.edges.map(async (edge) => {
    for (let n = 0; reading; n++) {
      const p = urls[n % urls.length]
      const res = await get(edge.url, p).catch((err: Error) => ({ status: 0, body: err.message }))
      reads++
      if (res.status !== 200 || (pages.includes(p) && res.body.includes('data-fragment-state="unavailable"'))) errors.push(`${edge.name} ${p}: ${res.status}`)
    }
  })
  await until('readers to be reading', async () => reads > 50, 20_000)
  await stack.killShield('shield2')
  const killedAt = reads
  await until('reads with shield2 gone', async () => reads > killedAt + 200, 30_000)
  const shield2Health = async () => {
    const edges = (await callJson<{ edges: Array<{ admin: { backends?: Array<{ name: string; health: string }> } }> }>(purgeApi, 'GET', '/edges', undefined, editor)).json.edges
    return edges.map((e) => e.admin.backends?.find((b) => b.name.endsWith('tessera_shield_shield2'))?.health)
  }
  await until('the edges to see shield2 sick', async () => (await shield2Health()).every((h) => h === 'sick'), 20_000)
  const back = await stack.restartShield('shield2')
  await until('the edges to see shield2 healthy again', async () => (await shield2Health()).every((h) => h === 'healthy'), 20_000)
  const before = await originRequests(back)
  // The edges hold every URL read: purge the fragments so they ask their shields again.
  const purge = await callJson(purgeApi, 'POST', '/purges', { keys: ['fragment:article', 'fragment:sidebar', 'fragment:nav'] }, editor)
  t.ok(purge.status === 200 || purge.status === 202, `purge answered ${purge.status}`)
  await until('shield2 to be used again', async () => (await originRequests(back)) > before, 30_000)
  const refilledAt = reads
  await until('reads after it returned', async () => reads > refilledAt + 100, 30_000)
  reading = false
  await Promise.all(readers)
  t.same(errors, [], `0 reader errors (and no page with a hole) over ${reads} reads, ${refilledAt - killedAt} of them with shield2 down or refilling`)
})
