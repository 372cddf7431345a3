import t from 'tap'
import { nav as navFragment } from '../../fragments/nav/fragment.js'
import { policyToWire } from '../../cache/policy.js'
import { DEFAULT_POLICIES } from '../../fragments/registry.js'
import { type EdgeResponse, get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'

const stack = await startTestStack(t)
const edge = stack.edges[0]
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const ops = { authorization: `Bearer ${stack.secrets.opsToken}` }
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }

const DEFAULT = 'ttl=300; grace=60; keep=86400; source=default'
const TUNED = { ttl: 2, grace: 0, keep: 3600 }
const TUNED_HEADER = 'ttl=2; grace=0; keep=3600; source=override'

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = ops): Promise<{ status: number; json: any }> {
  const res = await fetch(purgeApi + path, { method, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body !== undefined ? JSON.stringify(body) : undefined })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}
const readNav = () => get(edge.url, '/fragments/nav', debug)
const ttlLeft = (res: EdgeResponse) => Number(res.headers.get('x-tessera-ttl-left'))
const renderedAt = (res: EdgeResponse) => Date.parse(res.headers.get('x-tessera-rendered-at') ?? '')

/** Reads nav through the edge every 20 ms until it carries `policy`; gives up after 3 s. */
async function firstNavWith(policy: string): Promise<EdgeResponse> {
  const deadline = Date.now() + 3000
  for (;;) {
    const res = await readNav()
    if (res.headers.get('x-tessera-policy') === policy) return res
    if (Date.now() > deadline) throw new Error(`nav never carried "${policy}"; last: ${res.headers.get('x-tessera-policy')}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

t.test('nav starts cached under the default policy from its code', async (t) => {
  t.same(DEFAULT_POLICIES.nav, navFragment.policy)
  await readNav()
  const cached = await readNav()
  t.equal(cached.headers.get('x-tessera-cache'), 'hit')
  t.equal(cached.headers.get('x-tessera-policy'), DEFAULT)
  t.ok(ttlLeft(cached) > 250, `TTL left ${ttlLeft(cached)}`)
})

t.test('the editor token cannot change policies, and bad input gives 400 and changes nothing', async (t) => {
  const cachedBefore = await readNav()
  const lastPurge = async () => (await call('GET', '/purges?limit=1')).json.purges[0]?.id
  const purgeBefore = await lastPurge()
  const forbidden = await call('PUT', '/policies/nav', TUNED, editor)
  t.equal(forbidden.status, 403)
  t.equal(forbidden.json.error.code, 'TESSERA_FORBIDDEN')
  t.match(forbidden.json.error.message, 'TESSERA_OPS_TOKEN')
  t.equal((await call('DELETE', '/policies/nav', undefined, editor)).status, 403)
  t.equal((await call('GET', '/policies', undefined, editor)).status, 403)
  t.equal((await call('PUT', '/policies/nav', TUNED, {})).status, 401)
  for (const [body, field] of [
    [{ ttl: 604801, grace: 0, keep: 3600 }, 'ttl'],
    [{ ttl: 2, grace: -1, keep: 3600 }, 'grace'],
    [{ ttl: 2, grace: 0, keep: '3600' }, 'keep'],
    [{ ttl: 2, grace: 0 }, 'keep'],
    [{ ...TUNED, stale: 1 }, 'stale'],
  ] as const) {
    const res = await call('PUT', '/policies/nav', body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.json.error.field, field)
  }
  const unknown = await call('PUT', '/policies/footer', TUNED)
  t.equal(unknown.status, 404)
  t.equal(unknown.json.error.code, 'TESSERA_UNKNOWN_FRAGMENT')

  t.match((await call('GET', '/policies')).json.policies.find((p: any) => p.fragment === 'nav'), { source: 'default', effective: policyToWire(DEFAULT_POLICIES.nav) })
  t.same((await call('GET', '/policies/audit')).json.audit, [], 'no audit entry')
  t.equal(await lastPurge(), purgeBefore, 'nothing purged')
  const cachedAfter = await readNav()
  t.equal(cachedAfter.headers.get('x-tessera-cache'), 'hit', 'the cached nav is untouched')
  t.equal(cachedAfter.headers.get('x-tessera-rendered-at'), cachedBefore.headers.get('x-tessera-rendered-at'))
  t.equal(cachedAfter.headers.get('x-tessera-policy'), DEFAULT)
})

t.test('ops set nav to a 2 s TTL: within a second new responses carry it, and the object expires on the new schedule', async (t) => {
  const sent = performance.now()
  const res = await call('PUT', '/policies/nav', TUNED)
  const answered = performance.now()
  t.equal(res.status, 200)
  t.same(res.json.effective, TUNED)
  t.equal(res.json.source, 'override')
  t.match(res.json.purge, { mode: 'soft', keys: ['fragment:nav'], complete: true })
  t.ok(res.json.purge.nodes[0].purged >= 1, `soft-purged ${res.json.purge.nodes[0].purged} nav objects`)

  const tuned = await firstNavWith(TUNED_HEADER)
  const seen = performance.now()
  t.ok(seen - sent < 1000, `new policy at the edge ${(seen - sent).toFixed(0)} ms after the PUT was sent (${(answered - sent).toFixed(0)} ms to answer)`)
  t.ok(ttlLeft(tuned) <= 2, `TTL left ${ttlLeft(tuned)}`)
  t.match(tuned.headers.get('x-tessera-origin-cache-control') ?? '', 's-maxage=2, stale-while-revalidate=0, stale-if-error=3600')
  const direct = await fetch(`http://127.0.0.1:${stack.config.ports.nav}/fragments/nav`)
  t.equal(direct.headers.get('x-tessera-policy'), TUNED_HEADER, 'the nav service itself states the override')

  const cached = await readNav()
  t.equal(cached.headers.get('x-tessera-rendered-at'), tuned.headers.get('x-tessera-rendered-at'), 'cached meanwhile')
  t.ok(ttlLeft(cached) <= 2)

  // Past the new TTL (no grace): the copy has expired, so the next read is a miss and a new render.
  await new Promise((r) => setTimeout(r, Math.max(0, renderedAt(tuned) + 2500 - Date.now())))
  const expired = await readNav()
  t.equal(expired.headers.get('x-tessera-cache'), 'miss', 'expired after 2 s')
  t.ok(renderedAt(expired) > renderedAt(tuned), `rendered again at ${expired.headers.get('x-tessera-rendered-at')}`)
  t.equal(expired.headers.get('x-tessera-policy'), TUNED_HEADER)
  t.ok(ttlLeft(expired) <= 2 && ttlLeft(expired) > 1, `fresh copy, TTL left ${ttlLeft(expired)}`)
})

t.test('the list shows each fragment: default, override, effective and where it comes from', async (t) => {
  const { status, json } = await call('GET', '/policies')
  t.equal(status, 200)
  t.same(json.policies.map((p: any) => p.fragment), ['nav', 'sidebar', 'article', 'sections'])
  const nav = json.policies[0]
  t.match(nav, { default: policyToWire(DEFAULT_POLICIES.nav), override: { ...TUNED, by: 'ops' }, effective: TUNED, source: 'override' })
  t.ok(Date.parse(nav.override.updatedAt) > Date.now() - 60_000)
  for (const p of json.policies.slice(1)) t.match(p, { source: 'default', effective: p.default }, `${p.fragment} on its default`)
})

t.test('clearing the override brings the default back within a second, and both changes are audited', async (t) => {
  const sent = performance.now()
  const res = await call('DELETE', '/policies/nav')
  t.equal(res.status, 200)
  t.same(res.json.effective, policyToWire(DEFAULT_POLICIES.nav))
  t.equal(res.json.source, 'default')
  t.equal(res.json.purge.complete, true)
  const back = await firstNavWith(DEFAULT)
  const ms = performance.now() - sent
  t.ok(ms < 1000, `default back at the edge in ${ms.toFixed(0)} ms`)
  t.ok(ttlLeft(back) > 250, `TTL left ${ttlLeft(back)}`)
  const again = await readNav()
  t.equal(again.headers.get('x-tessera-cache'), 'hit')
  t.equal(again.headers.get('x-tessera-policy'), DEFAULT)

  const audit = (await call('GET', '/policies/audit')).json.audit
  t.match(audit, [
    { who: 'ops', what: 'clear', fragment: 'nav', before: TUNED, after: null },
    { who: 'ops', what: 'set', fragment: 'nav', before: null, after: { ...TUNED, by: 'ops' } },
  ])
  t.equal(audit.length, 2)
})
