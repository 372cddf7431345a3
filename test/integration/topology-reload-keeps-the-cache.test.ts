// TESSERA_TOPOLOGY + `npm run topology -- reload`: the services run on several "hosts" (distinct loopback
// addresses), the edge is told where everything is by the file, and instances are added and removed by editing
// it and reloading the edge's VCL (vcl.inline + vcl.use through our CLI client) while readers read: no reader
// error, the cache is kept (MAIN.n_object does not drop, objects keep their Age), a VCL that does not compile is
// refused with varnishd's message while the running one stays, and old VCLs are discarded.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { projectRoot } from '../../platform/paths.js'
import { VarnishCli } from '../../varnish-cli/varnish-cli.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import { counters, get, purgeKeys } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { until } from '../support/wait.js'

const exec = promisify(execFile)
const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-topology-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = path.join(dir, 'topology.yaml')
const [layout, nav1, nav2, nav3, sidebar, article, sections, edgePort, adminPort, innerPort] = await freePorts(10)

// Machines A (127.0.0.2), B (127.0.0.3), C (127.0.0.4); the edge on D (127.0.0.5).
const topologyText = (navs: string[], extra = '') => `
services:
  layout: [127.0.0.2:${layout}]
  nav: [${navs.join(', ')}]
  sidebar: [127.0.0.3:${sidebar}]
  article: [127.0.0.2:${article}]
  sections: [127.0.0.4:${sections}]${extra}
edges:
  - name: edge1
    url: http://127.0.0.5:${edgePort}
    admin: 127.0.0.5:${adminPort}
    inner: 127.0.0.1:${innerPort}
purge_acl: [127.0.0.0/8]
`
const navA = `127.0.0.2:${nav1}`
const navB = `127.0.0.3:${nav2}`
const navC = `127.0.0.4:${nav3}`
writeFileSync(file, topologyText([navA, navB]))

const stack = await startTestStack(t, { topologyFile: file })
const edge = stack.edges[0]
const cli = await VarnishCli.connect({ host: edge.adminHost, port: edge.adminPort, secret: readFileSync(edge.secretFile) })
t.teardown(() => cli.close())

/** `npm run topology -- reload` (without its build step: dist/ is built). */
async function reload(): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [path.join(projectRoot, 'dist', 'topology', 'cli.js'), 'reload'], {
      env: { ...process.env, TESSERA_TOPOLOGY: file, TESSERA_STATE_DIR: stack.config.stateDir, REDIS_URL: stack.redisUrl },
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
const navBackends = async () => (await cli.backendList()).filter((b) => /\.tessera_nav(_\d)?$/.test(b.name) && b.name.startsWith(activeVcl + '.')).map((b) => b.name.replace(/^.*\./, ''))
let activeVcl = 'boot'
const active = async () => (await cli.vclList()).find((v) => v.status === 'active')?.name

const pages = ['/', '/sections/news', '/fragments/sidebar', '/fragments/nav']
for (const p of pages) await get(edge.url, p)
const ageOf = async (p: string) => Number((await get(edge.url, p)).headers.get('age'))

// Readers all along; every answer kept.
const seen: Array<{ path: string; status: number; error?: string; at: number }> = []
let reading = true
const readers = Array.from({ length: 3 }, async (_, i) => {
  for (let n = i; reading; n++) {
    const p = pages[n % pages.length]
    try {
      const res = await get(edge.url, p)
      seen.push({ path: p, status: res.status, at: Date.now() })
    } catch (err) {
      seen.push({ path: p, status: 0, error: String((err as Error).cause ?? err), at: Date.now() })
    }
  }
})
t.teardown(async () => {
  reading = false
  await Promise.all(readers)
})

t.test('the services run where the file says, behind the edge on its own address', async (t) => {
  t.equal(edge.url, `http://127.0.0.5:${edgePort}`, 'the edge listens where the file says')
  t.same(stack.instances.nav.map((i) => i.port), [nav1, nav2])
  const res = await get(edge.url, '/')
  t.equal(res.status, 200)
  t.match(res.body, /data-fragment="nav"/)
  t.same(await navBackends(), ['tessera_nav_1', 'tessera_nav_2'])
})

t.test('adding an instance: edit the file, reload; the cache is kept and the new instance takes fetches', async (t) => {
  const objectsBefore = (await counters(edge, 'MAIN.n_object'))['MAIN.n_object']
  const ageBefore = await ageOf('/fragments/sidebar')
  const measuredAt = Date.now()
  await stack.startInstance('nav', { host: '127.0.0.4', port: nav3 })
  writeFileSync(file, topologyText([navA, navB, navC]))
  const r = await reload()
  t.equal(r.code, 0, `reload succeeded: ${r.stdout}${r.stderr}`)
  activeVcl = (await active())!
  t.match(r.stdout, new RegExp(`edge1: now runs ${activeVcl}`))
  t.not(activeVcl, 'boot', 'a new VCL is active')
  t.same(await navBackends(), ['tessera_nav_1', 'tessera_nav_2', 'tessera_nav_3'], 'the new instance is a backend')
  await until('the new instance healthy', async () => (await cli.backendList(`${activeVcl}.tessera_nav_3`))[0]?.health === 'healthy', 20_000)
  t.ok((await counters(edge, 'MAIN.n_object'))['MAIN.n_object'] >= objectsBefore, 'MAIN.n_object did not drop')
  const ageAfter = await ageOf('/fragments/sidebar')
  const elapsed = Math.floor((Date.now() - measuredAt) / 1000)
  t.ok(ageAfter >= ageBefore + elapsed - 1, `the sidebar object kept its age (${ageBefore} s, ${elapsed} s later ${ageAfter} s): the same object, not a new fetch`)
  // Fetches go round the three: purge nav a few times, the new one gets its share.
  for (let i = 0; i < 6; i++) {
    await purgeKeys(edge, stack.secrets.purgeSecret, ['nav'])
    t.equal((await get(edge.url, '/fragments/nav')).status, 200)
  }
  const vbe = await counters(edge, `VBE.${activeVcl}.tessera_nav_3.req`)
  t.ok(vbe[`VBE.${activeVcl}.tessera_nav_3.req`] >= 1, `the new instance served fetches (${vbe[`VBE.${activeVcl}.tessera_nav_3.req`]})`)
})

t.test('removing an instance: edit the file, reload, stop it; readers see nothing', async (t) => {
  const objectsBefore = (await counters(edge, 'MAIN.n_object'))['MAIN.n_object']
  writeFileSync(file, topologyText([navB, navC]))
  const r = await reload()
  t.equal(r.code, 0, `reload succeeded: ${r.stdout}${r.stderr}`)
  activeVcl = (await active())!
  t.same(await navBackends(), ['tessera_nav_1', 'tessera_nav_2'], 'two instances left')
  await stack.killInstance('nav', 0) // 127.0.0.2, no longer in the VCL
  for (let i = 0; i < 6; i++) {
    await purgeKeys(edge, stack.secrets.purgeSecret, ['nav'])
    t.equal((await get(edge.url, '/fragments/nav')).status, 200)
  }
  // A nav purge also takes the page-tier copies that include nav: each page is read once more before counting,
  // rather than counting on the readers above having read it again already.
  for (const p of pages) t.equal((await get(edge.url, p)).status, 200)
  t.ok((await counters(edge, 'MAIN.n_object'))['MAIN.n_object'] >= objectsBefore - 1, 'MAIN.n_object did not drop (nav and the pages showing it were purged and fetched again)')
})

t.test('a VCL that does not compile is refused with varnishd\'s message; the running one stays', async (t) => {
  const before = await active()
  writeFileSync(file, topologyText([navB, 'no-such-host.invalid:3001']))
  const r = await reload()
  t.equal(r.code, 1, 'the reload fails')
  t.match(r.stderr, /edge1: TESSERA_VCL_REFUSED: edge edge1 refused the new VCL \(the running one stays\)/)
  t.match(r.stderr, /no-such-host\.invalid/, "varnishd's compiler message names the problem")
  t.equal(await active(), before, 'the running VCL is still active')
  t.equal((await get(edge.url, '/')).status, 200)
  writeFileSync(file, topologyText([navB, navC]))
})

t.test('old VCLs are discarded: the last three are kept', async (t) => {
  for (let i = 0; i < 3; i++) t.equal((await reload()).code, 0)
  const loaded = (await cli.vclList()).filter((v) => v.status !== 'discarded')
  t.ok(loaded.length <= 3, `${loaded.length} VCLs loaded: ${loaded.map((v) => `${v.name} ${v.status}`).join(', ')}`)
  t.notOk(loaded.some((v) => v.name === 'boot'), 'the boot VCL is gone')
})

t.test('no reader saw an error while instances came and went', async (t) => {
  reading = false
  await Promise.all(readers)
  t.ok(seen.length > 50, `${seen.length} reads`)
  t.same(seen.filter((s) => s.status !== 200).map((s) => `${new Date(s.at).toISOString()} ${s.path} ${s.status} ${s.error ?? ''}`), [])
})
