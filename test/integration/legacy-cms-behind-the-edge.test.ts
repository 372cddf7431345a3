// The edge in front of a legacy CMS (issue 16), with the simulated one (legacy-demo/) behind it: a route moves from
// the legacy to Tessera with a hot reload under read load (0 reader errors, no restart, the cache kept); a nav edit
// refreshes the legacy page that includes Tessera's nav by ESI and no other legacy page; a logged-in reader passes;
// the purge service's POST /purges (keys the legacy sent in its Surrogate-Key header, and URLs) and POST /bans take
// legacy pages, and exactly those.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { projectRoot } from '../../platform/paths.js'
import { type LegacyStats, VIDEO_NODE_BASE, VIDEOS } from '../../legacy-demo/app.js'
import { callJson } from '../support/api.js'
import { startTestStack } from '../support/stack.js'
import { until } from '../support/wait.js'

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-legacy-routes-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const routesFile = path.join(dir, 'routes.yaml')
copyFileSync(path.join(projectRoot, 'legacy-demo', 'routes.yaml'), routesFile)

const stack = await startTestStack(t, {
  legacy: { demo: true, routesFile },
  // Faults off: these tests count the legacy's renders exactly (the bench runs it with its faults).
  env: { TESSERA_DEMO_LEGACY_RENDER_MS: '300', TESSERA_DEMO_LEGACY_ERROR_RATE: '0', TESSERA_DEMO_LEGACY_HANG_RATE: '0' },
})
const edge = stack.edges[0]
const legacyBase = `http://${stack.config.host}:${stack.config.demoLegacyPort}`
const debug = { 'x-tessera-debug': stack.secrets.debugToken }
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }

async function get(pathname: string, headers: Record<string, string> = {}) {
  const res = await fetch(edge.url + pathname, { headers, redirect: 'manual' })
  return { status: res.status, headers: res.headers, body: await res.text() }
}
async function legacyStats(): Promise<LegacyStats> {
  return (await fetch(`${legacyBase}/_legacy/stats`)).json() as Promise<LegacyStats>
}

t.test('a route moves from the legacy to Tessera with a hot reload under load: 0 reader errors, no restart, the cache kept', async (t) => {
  const before = await get('/sections/news')
  t.equal(before.status, 200)
  t.match(before.body, 'data-cms="legacy"', 'the legacy answers /sections/ while the route says legacy')
  const video = await get('/video/harbour-at-dawn')
  t.equal(video.status, 200)
  t.match(video.body, 'data-cms="legacy"')
  t.equal((await get('/video/harbour-at-dawn', debug)).headers.get('x-tessera-cache'), 'hit')
  const rendersBefore = await legacyStats()
  const workerPid = await edge.varnishd.workerPid()

  // Readers over the legacy's and Tessera's pages until told to stop.
  const paths = ['/sections/news', '/video/harbour-at-dawn', '/', '/sections/news', '/slideshows/lighthouses']
  let stop = false
  let requests = 0
  const errors: string[] = []
  const sectionsSeen: Array<'legacy' | 'tessera'> = []
  const reader = async (w: number) => {
    for (let i = w; !stop; i++) {
      const p = paths[i % paths.length]
      try {
        const r = await get(p)
        requests++
        if (r.status !== 200) errors.push(`${p}: ${r.status}`)
        if (p === '/sections/news') sectionsSeen.push(r.body.includes('data-cms="legacy"') ? 'legacy' : 'tessera')
      } catch (err) {
        errors.push(`${p}: ${(err as Error).message}`)
      }
    }
  }
  const readers = Array.from({ length: 8 }, (_, w) => reader(w))
  await until('readers to be reading', async () => requests > 50, 30_000)

  // The one-line change, and the reload.
  writeFileSync(routesFile, readFileSync(routesFile, 'utf8').replace('{ name: sections, prefix: /sections/, to: legacy }', '{ name: sections, prefix: /sections/, to: tessera }'))
  const report = await stack.reloadRoutes()
  t.ok(report.ok, `every edge took the new VCL: ${JSON.stringify(report.edges)}`)
  const atReload = sectionsSeen.length
  await until('Tessera to answer /sections/news', async () => (await get('/sections/news')).body.includes('data-fragment="nav"'), 30_000)
  const requestsAtSwitch = requests
  await until('readers to go on reading after the switch', async () => requests > requestsAtSwitch + 50, 30_000)
  stop = true
  await Promise.all(readers)

  t.same(errors, [], `0 reader errors over ${requests} reads during the switch`)
  t.ok(sectionsSeen.slice(0, atReload).includes('legacy'), 'readers saw the legacy section page before the reload')
  t.equal(sectionsSeen.at(-1), 'tessera', 'and Tessera\'s after it')
  const after = await get('/sections/news')
  t.notMatch(after.body, 'data-cms="legacy"')
  t.match(after.body, 'data-fragment="nav"')
  t.equal(await edge.varnishd.workerPid(), workerPid, 'the same varnishd cache process: no restart')
  // The legacy pages cached before the switch are still cached: the legacy rendered none of them again.
  t.equal((await get('/video/harbour-at-dawn', debug)).headers.get('x-tessera-cache'), 'hit', 'the legacy page cached before the reload is still a hit')
  const rendersAfter = await legacyStats()
  t.equal(rendersAfter.byPath['/video/harbour-at-dawn'], rendersBefore.byPath['/video/harbour-at-dawn'], 'the legacy did not render it again')
  t.equal(rendersAfter.byPath['/slideshows/lighthouses'], 1, 'one render for every reader of a cold legacy page (coalesced, then cached)')
  t.equal(rendersAfter.byPath['/sections/news'], rendersBefore.byPath['/sections/news'], 'its old section page was rendered once, for the first reader')
})

t.test('a nav edit refreshes the legacy page that includes nav by ESI (page tier) and no other legacy page', async (t) => {
  const index = await get('/video/', debug)
  t.equal(index.status, 200)
  t.match(index.body, 'data-cms="legacy"')
  t.match(index.body, 'data-fragment="nav"', 'the legacy page shows Tessera\'s nav')
  t.notMatch(index.body, '<esi:')
  t.equal(index.headers.get('x-tessera-tier'), 'page', 'in the page tier')
  t.equal(index.headers.get('x-tessera-page-uncacheable'), null)
  t.match(index.headers.get('xkey') ?? '', /(^| )nav( |$)/, 'with nav\'s key')
  await until('the video index to be a page-tier hit', async () => (await get('/video/', debug)).headers.get('x-tessera-cache') === 'hit', 20_000)
  await get('/video/market-day')
  const before = await legacyStats()

  const label = `Legacy-visible nav ${Date.now()}`
  const nav = await callJson(`http://${stack.config.host}:${stack.config.ports.content}`, 'PUT', '/nav', { entries: [{ label, href: '/' }, { label: 'Video', href: '/video/' }] }, editor)
  t.equal(nav.status, 200)
  await until('the legacy page to show the new nav', async () => (await get('/video/')).body.includes(label), 20_000)

  const after = await legacyStats()
  t.equal(after.byPath['/video/'], before.byPath['/video/'], 'the legacy did not render the page again: the edge re-assembled it from its cached copy and the new nav')
  const other = await get('/video/market-day', debug)
  t.equal(other.headers.get('x-tessera-cache'), 'hit', 'a legacy page without nav was not touched')
  t.notMatch(other.body, label)
  t.equal(after.byPath['/video/market-day'], 1)
})

t.test('a logged-in reader goes to the legacy uncached and never sees or creates the shared copy', async (t) => {
  const login = await fetch(`${edge.url}/login`, { method: 'POST', redirect: 'manual' })
  t.equal(login.status, 303)
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]
  t.match(cookie, /^PHPSESSID=[0-9a-f]+$/)
  const anonymous = await get('/video/night-ferry')
  t.notMatch(anonymous.body, 'Signed in')
  const mine = await get('/video/night-ferry', { cookie: `_ga=1; ${cookie}` })
  t.match(mine.body, 'Signed in as reader')
  t.equal(mine.headers.get('cache-control'), 'private, no-store')
  const again = await get('/video/night-ferry', debug)
  t.notMatch(again.body, 'Signed in', 'the shared copy is still the anonymous one')
  t.equal(again.headers.get('x-tessera-cache'), 'hit')
  t.equal((await legacyStats()).byPath['/video/night-ferry'], 2, 'one render for the anonymous copy, one for the logged-in reader')
})

t.test('POST /purges takes legacy pages by the keys the legacy sent (Surrogate-Key, in its own form) and by URL; POST /bans by prefix', async (t) => {
  const purgeApi = `http://${stack.config.host}:${stack.config.ports.purge}`
  const page = '/video/football-highlights'
  const neighbour = '/video/weather-week'
  const nodeKey = `node:${VIDEO_NODE_BASE + VIDEOS.indexOf('football-highlights')}`
  const cacheOf = async (p: string) => (await get(p, debug)).headers.get('x-tessera-cache')
  const renders = async (p: string) => (await legacyStats()).byPath[p] ?? 0
  for (const p of [page, neighbour]) {
    t.equal((await get(p)).status, 200)
    t.equal(await cacheOf(p), 'hit', `${p} cached`)
  }
  const keys = (await get(page, debug)).headers.get('xkey') ?? ''
  t.match(keys, new RegExp(`(^| )${nodeKey}( |$)`), 'the Surrogate-Key header became the page\'s keys')
  t.match(keys, /(^| )node_list( |$)/)
  t.equal(await renders(page), 1)

  // A key of the legacy's own form: not Tessera's (node_list has an underscore), accepted as sent.
  const byKey = await callJson<{ complete: boolean; nodes: Array<{ purged: number }> }>(purgeApi, 'POST', '/purges', { keys: [nodeKey] }, editor)
  t.equal(byKey.status, 200, JSON.stringify(byKey.json))
  t.equal(byKey.json.complete, true)
  t.equal(byKey.json.nodes.reduce((n, a) => n + a.purged, 0), 1, 'exactly the page that sent the key')
  t.equal(await cacheOf(neighbour), 'hit', 'the other video page is untouched')
  t.equal((await get(page)).status, 200)
  t.equal(await renders(page), 2, 'the purged page is rendered again by the legacy')
  t.equal(await cacheOf(page), 'hit')

  const byUrl = await callJson<{ complete: boolean; nodes: Array<{ purged: number }> }>(purgeApi, 'POST', '/purges', { urls: [page] }, editor)
  t.equal(byUrl.status, 200, JSON.stringify(byUrl.json))
  t.equal(byUrl.json.nodes.reduce((n, a) => n + a.purged, 0), 1)
  t.equal(await cacheOf(neighbour), 'hit')
  t.equal((await get(page)).status, 200)
  t.equal(await renders(page), 3, 'rendered again after the URL purge')

  const ban = await callJson<{ complete: boolean }>(purgeApi, 'POST', '/bans', { prefix: neighbour }, editor)
  t.equal(ban.status, 200, JSON.stringify(ban.json))
  t.equal(ban.json.complete, true)
  const neighbourRenders = await renders(neighbour)
  t.equal((await get(neighbour)).status, 200)
  t.equal(await renders(neighbour), neighbourRenders + 1, 'the banned page is fetched from the legacy again')
  t.equal(await cacheOf(page), 'hit', 'and the ban took nothing else')

  // Malformed keys are still refused, with the field at fault.
  for (const bad of ['node_list videos', 'a,b', '', 'caf\u00e9']) {
    const res = await callJson<{ error: { code: string; field: string } }>(purgeApi, 'POST', '/purges', { keys: ['videos', bad] }, editor)
    t.equal(res.status, 400, JSON.stringify(bad))
    t.equal(res.json.error.code, 'TESSERA_INVALID_INPUT')
    t.equal(res.json.error.field, 'keys[1]')
  }
  t.equal(await cacheOf(page), 'hit', 'a refused request purged nothing')
})
