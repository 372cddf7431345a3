// PUT /edges/:name and DELETE /edges/:name: a fresh varnishd joins the live edge set while the stack serves. It
// gets the current site VCL, every purge from the moment the PUT is answered, and is warmed with the most-read
// pages through its own front; GET /edges shows it warming, then ready, lagging while it misses purges, then
// removed. A removed node gets no purge, and its durable queue is gone. Bad input changes nothing.
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import t from 'tap'
import { VarnishCli } from '../../varnish-cli/varnish-cli.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import { callJson, editable, publishedArticles } from '../support/api.js'
import { get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { acknowledgedPurge, eventsSettled, until } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 1 })
const [edge1] = stack.edges
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const ops = { authorization: `Bearer ${stack.secrets.opsToken}` }
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }
const redis = new Redis(stack.redisUrl)
t.teardown(() => redis.disconnect())

interface EdgeView {
  name: string
  node: string
  state: string
  pending: number
  warm?: { requested: number; urls: number; fetched: number; failed: number }
}
const edgesNow = async () => (await callJson<{ edges: EdgeView[] }>(purgeApi, 'GET', '/edges', undefined, ops)).json.edges
const edgeNamed = async (name: string) => (await edgesNow()).find((e) => e.name === name)

const articles = await publishedArticles(contentApi, stack.secrets.editorToken)
const [hot, warmer, other] = articles
// Readers: one article most read, another next, the home page a little.
for (let i = 0; i < 12; i++) await get(edge1.url, `/articles/${hot.slug}`)
for (let i = 0; i < 6; i++) await get(edge1.url, `/articles/${warmer.slug}`)
for (let i = 0; i < 2; i++) await get(edge1.url, '/')

const [port, adminPort, innerPort, nobody] = await freePorts(4)
const joining = await stack.startLooseEdge('edge2', { port, adminPort, innerPort })
const admin = `127.0.0.1:${adminPort}`

t.test('GET /stats/top: the most-read pages, from the edges\' own logs', async (t) => {
  const { status, json } = await callJson<{ pages: Array<{ url: string; reads: number }> }>(purgeApi, 'GET', '/stats/top?limit=2', undefined, ops)
  t.equal(status, 200)
  t.same(json.pages.map((p) => p.url), [`/articles/${hot.slug}`, `/articles/${warmer.slug}`], 'most read first')
  t.ok(json.pages[0].reads >= 12, `the hot article's reads (${json.pages[0].reads})`)
  t.equal((await callJson(purgeApi, 'GET', '/stats/top', undefined, editor)).status, 403, 'ops only')
  t.equal((await callJson(purgeApi, 'GET', '/stats/top?limit=0', undefined, ops)).status, 400)
})

t.test('bad input is refused with its field and changes nothing', async (t) => {
  const put = (body: unknown, headers = ops, name = 'edge2') => callJson<{ error: { code: string; field?: string; message: string } }>(purgeApi, 'PUT', `/edges/${name}`, body, headers)
  t.equal((await put({ url: joining.url, admin }, editor)).status, 403, 'an editor may not')
  t.equal((await put({ url: joining.url, admin }, { authorization: 'Bearer nope' })).status, 401)
  const cases: Array<[string, unknown, string, number, string?]> = [
    ['not an object', [1], 'body', 400],
    ['an unknown field', { url: joining.url, admin, size: 3 }, 'size', 400],
    ['a URL that is not http://host:port', { url: 'ftp://127.0.0.1:1', admin }, 'url', 400],
    ['an admin address that is not host:port', { url: joining.url, admin: 'here' }, 'admin', 400],
    ['a relative work dir', { url: joining.url, admin, workdir: 'var/x' }, 'workdir', 400],
    ['warm not a count', { url: joining.url, admin, warm: -1 }, 'warm', 400],
    ['a bad name', { url: joining.url, admin }, 'name', 400, 'Edge_2'],
    ['the URL of a node in the set', { url: edge1.url, admin }, 'url', 409, 'edge9'],
    ['an admin address nobody answers on', { url: joining.url, admin: `127.0.0.1:${nobody}` }, 'admin', 422],
  ]
  for (const [what, body, field, status, name] of cases) {
    const res = await put(body, ops, name)
    t.equal(res.status, status, `${what}: ${status}`)
    t.equal(res.json.error.field, field, `${what}: the field is ${field} (${res.json.error.message})`)
  }
  t.same((await edgesNow()).map((e) => e.name), ['edge1'], 'the edge set is as it was')
  t.same((await callJson(purgeApi, 'DELETE', '/edges/edge7', undefined, ops)).json, { error: { code: 'TESSERA_NOT_FOUND', message: 'edge node edge7 (in the live edge set) does not exist' } })
})

t.test('a node joins: the site VCL, purges from the answer on, warmed with the most-read pages, then ready', async (t) => {
  const cli = await VarnishCli.connect({ host: '127.0.0.1', port: adminPort, secret: readFileSync(joining.secretFile) })
  t.teardown(() => cli.close())
  await eventsSettled(stack.redisUrl)
  const putting = callJson<{ edge: { state: string }; vcl: string }>(purgeApi, 'PUT', '/edges/edge2', { url: joining.url, admin, inner: `127.0.0.1:${innerPort}`, workdir: joining.workDir, warm: 2 }, ops)
  // While varnishd compiles the site VCL the node shows as joining (and gets no purge yet).
  let answered = false
  void putting.finally(() => (answered = true))
  let sawJoining = false
  while (!answered && !sawJoining) sawJoining = (await edgeNamed('edge2'))?.state === 'joining'
  t.ok(sawJoining, 'GET /edges shows it joining while its VCL loads')
  const res = await putting
  t.equal(res.status, 201)
  t.equal(res.json.edge.state, 'warming')
  t.equal((await cli.vclList()).find((v) => v.status === 'active')?.name, res.json.vcl, 'the site VCL of the other edges is active on it')

  // From the answer on: an edit's purge goes to both nodes (a body edit: the warmed pages do not show it).
  const since = Date.now()
  const edit = await callJson(contentApi, 'PUT', `/articles/${other.id}`, { ...editable(other), body: `${other.body}\n\nEdited after the join.` }, editor)
  t.equal(edit.status, 200)
  const purge = await acknowledgedPurge({ redisUrl: stack.redisUrl, purgeApi, token: stack.secrets.editorToken }, `article:${other.id}`, since)
  t.same(purge.nodes.map((n) => n.node).sort(), [edge1.url, joining.url].sort(), 'the purge went to the joining node too')
  t.ok(purge.complete, 'and both took it')

  const ready = await until('edge2 ready', async () => {
    const e = await edgeNamed('edge2')
    return e?.state === 'ready' && e
  }, 30_000)
  t.match(ready.warm, { requested: 2, urls: 2, fetched: 2, failed: 0 }, `the two most-read pages were fetched through it: ${JSON.stringify(ready.warm)}`)
  for (const slug of [hot.slug, warmer.slug]) {
    const page = await get(joining.url, `/articles/${slug}`, debug)
    t.equal(page.headers.get('x-tessera-cache'), 'hit', `/articles/${slug} is a hit at the joining node before any reader`)
  }
  const stats = (await callJson<{ edges: Array<{ node: string; source: { workDir?: string } }> }>(purgeApi, 'GET', '/stats', undefined, ops)).json.edges
  t.same(stats.map((e) => e.node).sort(), [edge1.url, joining.url].sort(), 'GET /stats reports the joined node')
  t.equal(stats.find((e) => e.node === joining.url)?.source.workDir, joining.workDir, 'read through its work dir')
  const audit = (await callJson<{ audit: Array<{ what: string; edge: string }> }>(purgeApi, 'GET', '/edges/audit', undefined, ops)).json.audit
  t.match(audit[0], { what: 'join', edge: 'edge2', who: 'ops' }, 'audited')
  t.same((await callJson(purgeApi, 'PUT', '/edges/edge2', { url: joining.url, admin }, ops)).status, 200, 'PUT again with the same node: nothing to do')
})

t.test('a node that misses purges is lagging, then removed: nothing more, its queue deleted', async (t) => {
  await joining.varnishd.stop()
  const queue = `tessera:purge-queue:${joining.url}`
  const edit = await callJson(contentApi, 'PUT', `/articles/${other.id}`, { ...editable(other), body: `${other.body}\n\nMissed by edge2.` }, editor)
  t.equal(edit.status, 200)
  const lagging = await until('edge2 lagging', async () => {
    const e = await edgeNamed('edge2')
    return e?.state === 'lagging' && e
  }, 20_000)
  t.ok(lagging.pending >= 1, `its purges wait in its queue (${lagging.pending})`)

  const removed = await callJson<{ edge: { state: string }; droppedPurges: number }>(purgeApi, 'DELETE', '/edges/edge2', undefined, ops)
  t.equal(removed.status, 200)
  t.equal(removed.json.edge.state, 'removed')
  t.ok(removed.json.droppedPurges >= 1, `its queue went with it (${removed.json.droppedPurges} purges)`)
  t.equal(await redis.exists(queue), 0, 'the durable queue is deleted')

  const since = Date.now()
  await callJson(contentApi, 'PUT', `/articles/${other.id}`, { ...editable(other), body: `${other.body}\n\nAfter edge2 left.` }, editor)
  const purge = await acknowledgedPurge({ redisUrl: stack.redisUrl, purgeApi, token: stack.secrets.editorToken }, `article:${other.id}`, since)
  t.same(purge.nodes.map((n) => n.node), [edge1.url], 'the next purge goes to edge1 only')
  await new Promise((r) => setTimeout(r, 1500)) // a sweep of the queues
  t.equal(await redis.exists(queue), 0, 'the queue does not come back')
  const view = await edgesNow()
  t.same(view.map((e) => [e.name, e.state]), [['edge1', 'ready'], ['edge2', 'removed']], 'GET /edges shows it removed')
  const stats = (await callJson<{ edges: Array<{ node: string }> }>(purgeApi, 'GET', '/stats', undefined, ops)).json.edges
  t.same(stats.map((e) => e.node), [edge1.url], 'GET /stats no longer reports it')
  t.equal((await callJson(purgeApi, 'DELETE', '/edges/edge2', undefined, ops)).status, 404, 'DELETE again: 404')
  const audit = (await callJson<{ audit: Array<{ what: string; edge: string }> }>(purgeApi, 'GET', '/edges/audit', undefined, ops)).json.audit
  t.match(audit[0], { what: 'leave', edge: 'edge2', who: 'ops' })
})

t.test('POST /topology/reload loads the site VCL on every node of the live set', async (t) => {
  t.equal((await callJson(purgeApi, 'POST', '/topology/reload', undefined, editor)).status, 403)
  const res = await callJson<{ ok: boolean; vcl: string; edges: Array<{ edge: string; ok: boolean }> }>(purgeApi, 'POST', '/topology/reload', undefined, ops)
  t.equal(res.status, 200)
  t.same(res.json.edges.map((e) => [e.edge, e.ok]), [['edge1', true]], 'the removed node is not reloaded')
  const cli = await VarnishCli.connect({ host: edge1.adminHost, port: edge1.adminPort, secret: readFileSync(edge1.secretFile) })
  t.teardown(() => cli.close())
  t.equal((await cli.vclList()).find((v) => v.status === 'active')?.name, res.json.vcl)
  t.equal((await get(edge1.url, '/')).status, 200)
})
