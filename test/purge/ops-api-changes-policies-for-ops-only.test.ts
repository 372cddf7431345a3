import { Redis } from 'ioredis'
import t from 'tap'
import { createLogger } from '../../platform/log.js'
import { POLICY_CHANNEL, policyKey } from '../../cache/policy-overrides.js'
import { policyToWire } from '../../cache/policy.js'
import { DEFAULT_POLICIES } from '../../fragments/registry.js'
import { buildPurgeApi } from '../../purge-service/app.js'
import { POLICY_AUDIT_KEY } from '../../purge-service/policy-store.js'
import { Purger } from '../../purge-service/purger.js'
import { startRedis } from '../support/redis.js'

const server = await startRedis(t)
const redis = new Redis(server.url)
const listener = new Redis(server.url)
t.teardown(() => {
  redis.disconnect()
  listener.disconnect()
})
const log = createLogger('test', 'silent')
// No edge nodes: this file is about the API; the soft purge on real edges is in test/integration/ops-tune-ttl-live.
const purger = new Purger({ redis, nodes: [], secret: 'unused-secret-unused', timeoutMs: 1000, coalesceMs: 0, log })
const tokens = { editorToken: 'editor-token-0123456789', opsToken: 'ops-token-0123456789ab' }
const app = buildPurgeApi({ redis, purger, ...tokens, edgeAdmins: [], adminSecretFile: '/nonexistent', warmConcurrency: 1, logger: log })
t.teardown(() => app.close())

const published: string[] = []
await listener.subscribe(POLICY_CHANNEL)
listener.on('message', (_channel: string, message: string) => published.push(message))

const ops = { authorization: `Bearer ${tokens.opsToken}` }
const editor = { authorization: `Bearer ${tokens.editorToken}` }
async function call(method: 'GET' | 'PUT' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = ops) {
  const res = await app.inject({ method, url, headers, ...(body !== undefined ? { payload: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' } } : {}) })
  return { status: res.statusCode, json: res.body ? res.json() : undefined }
}
/** Everything a policy change writes: the overrides, the audit and the messages. */
const snapshot = async () => ({
  overrides: await redis.mget(...(['nav', 'sidebar', 'article', 'sections'] as const).map(policyKey)),
  audit: await redis.lrange(POLICY_AUDIT_KEY, 0, -1),
  published: published.length,
})

t.test('only the ops token may read or change policies: the editor token gets 403, no token 401', async (t) => {
  for (const [method, url, body] of [['GET', '/policies'], ['GET', '/policies/audit'], ['GET', '/policies/nav'], ['PUT', '/policies/nav', { ttl: 2, grace: 0, keep: 0 }], ['DELETE', '/policies/nav']] as const) {
    const asEditor = await call(method, url, body, editor)
    t.equal(asEditor.status, 403, `${method} ${url} as editor`)
    t.equal(asEditor.json.error.code, 'TESSERA_FORBIDDEN')
    t.match(asEditor.json.error.message, 'send TESSERA_OPS_TOKEN, not the editor token')
    const anonymous = await call(method, url, body, {})
    t.equal(anonymous.status, 401, `${method} ${url} without a token`)
    t.equal(anonymous.json.error.code, 'TESSERA_UNAUTHORIZED')
    t.equal((await call(method, url, body, { authorization: 'Bearer not-the-token-at-all' })).status, 401)
  }
  t.same(await snapshot(), { overrides: [null, null, null, null], audit: [], published: 0 }, 'nothing changed')
})

t.test('the list shows every fragment with the default from its code', async (t) => {
  const { status, json } = await call('GET', '/policies')
  t.equal(status, 200)
  t.same(json.policies, (['nav', 'sidebar', 'article', 'sections'] as const).map((fragment) => ({
    fragment,
    default: policyToWire(DEFAULT_POLICIES[fragment]),
    effective: policyToWire(DEFAULT_POLICIES[fragment]),
    source: 'default',
  })))
})

t.test('bad input gets a 4xx naming the field, and changes nothing', async (t) => {
  const before = await snapshot()
  const cases: Array<[string, unknown, number, string]> = [
    ['/policies/nav', { ttl: 604801, grace: 0, keep: 0 }, 400, 'ttl'],
    ['/policies/nav', { ttl: 2, grace: 86401, keep: 0 }, 400, 'grace'],
    ['/policies/nav', { ttl: 2, grace: 0, keep: 2592001 }, 400, 'keep'],
    ['/policies/nav', { ttl: -1, grace: 0, keep: 0 }, 400, 'ttl'],
    ['/policies/nav', { ttl: 2.5, grace: 0, keep: 0 }, 400, 'ttl'],
    ['/policies/nav', { ttl: '2', grace: 0, keep: 0 }, 400, 'ttl'],
    ['/policies/nav', { ttl: 2, grace: 0 }, 400, 'keep'],
    ['/policies/nav', { ttl: 2, grace: 0, keep: 0, note: 'x' }, 400, 'note'],
    ['/policies/nav', [2, 0, 0], 400, 'body'],
    ['/policies/footer', { ttl: 2, grace: 0, keep: 0 }, 404, 'fragment'],
    ['/policies/__proto__', { ttl: 2, grace: 0, keep: 0 }, 404, 'fragment'],
  ]
  for (const [url, body, status, field] of cases) {
    const res = await call('PUT', url, body)
    t.equal(res.status, status, `${url} ${JSON.stringify(body)}`)
    t.equal(res.json.error.field, field)
  }
  t.equal((await call('DELETE', '/policies/footer')).status, 404)
  const notJson = await app.inject({ method: 'PUT', url: '/policies/nav', headers: { ...ops, 'content-type': 'application/json' }, payload: '{"ttl": 2,' })
  t.equal(notJson.statusCode, 400)
  t.equal((await call('GET', '/policies/audit?limit=0')).json.error.field, 'limit')
  t.same(await snapshot(), before, 'no override, audit entry or message')
})

t.test('setting an override stores it, publishes it, audits it and soft-purges the fragment', async (t) => {
  const { status, json } = await call('PUT', '/policies/nav', { ttl: 2, grace: 0, keep: 3600 })
  t.equal(status, 200)
  t.match(json, { fragment: 'nav', default: policyToWire(DEFAULT_POLICIES.nav), override: { ttl: 2, grace: 0, keep: 3600, by: 'ops' }, effective: { ttl: 2, grace: 0, keep: 3600 }, source: 'override', changed: true })
  t.match(json.purge, { mode: 'soft', keys: ['fragment:nav'], who: 'ops', complete: true })
  t.same(JSON.parse(published.at(-1)!), { fragment: 'nav', override: json.override }, 'every fragment service is told')
  t.same((await call('GET', '/policies/nav')).json, { fragment: 'nav', default: policyToWire(DEFAULT_POLICIES.nav), override: json.override, effective: { ttl: 2, grace: 0, keep: 3600 }, source: 'override' })
  const listed = (await call('GET', '/policies')).json.policies
  t.equal(listed.find((p: { fragment: string }) => p.fragment === 'nav').source, 'override')
  t.equal(listed.find((p: { fragment: string }) => p.fragment === 'sidebar').source, 'default')
  const [entry] = (await call('GET', '/policies/audit?limit=1')).json.audit
  t.same(entry, { who: 'ops', what: 'set', fragment: 'nav', when: json.override.updatedAt, before: null, after: json.override })
  t.equal((await purger.audit(1))[0].id, json.purge.id, 'the soft purge is in the purge log too')

  const again = await call('PUT', '/policies/nav', { ttl: 3, grace: 0, keep: 3600 })
  t.same((await call('GET', '/policies/audit?limit=1')).json.audit[0].before, json.override, 'the audit keeps what each change replaced')
  t.equal(again.json.override.ttl, 3)
})

t.test('clearing brings the default back the same way; clearing nothing changes nothing', async (t) => {
  const before = (await call('GET', '/policies/nav')).json.override
  const { status, json } = await call('DELETE', '/policies/nav')
  t.equal(status, 200)
  t.same({ ...json, purge: undefined }, { fragment: 'nav', default: policyToWire(DEFAULT_POLICIES.nav), effective: policyToWire(DEFAULT_POLICIES.nav), source: 'default', changed: true, purge: undefined })
  t.match(json.purge, { mode: 'soft', keys: ['fragment:nav'] })
  t.same(JSON.parse(published.at(-1)!), { fragment: 'nav', override: null })
  t.match((await call('GET', '/policies/audit?limit=1')).json.audit[0], { who: 'ops', what: 'clear', fragment: 'nav', before, after: null })
  const state = await snapshot()
  const noop = await call('DELETE', '/policies/nav')
  t.equal(noop.status, 200)
  t.equal(noop.json.changed, false)
  t.equal(noop.json.purge, undefined, 'nothing to purge')
  t.same(await snapshot(), state)
  t.same((await call('GET', '/policies/audit')).json.audit.map((e: { what: string }) => e.what), ['clear', 'set', 'set'], 'newest first')
})

t.test('the OpenAPI document describes the policy routes', async (t) => {
  const doc = (await app.inject('/openapi.json')).json()
  t.ok(doc.paths['/policies'].get)
  t.ok(doc.paths['/policies/audit'].get)
  t.ok(doc.paths['/policies/{fragment}'].put && doc.paths['/policies/{fragment}'].delete)
  t.same(doc.components.schemas.Policy.required, ['ttl', 'grace', 'keep'])
  t.same(doc.paths['/policies/{fragment}'].put.security, [{ ops: [] }])
})
