import { Redis } from 'ioredis'
import t from 'tap'
import { ContentRepository } from '../../content/repository.js'
import { buildFragmentApp } from '../../fragments/kit/app.js'
import { createLogger } from '../../platform/log.js'
import { policyKey } from '../../cache/policy-overrides.js'
import { PolicySource } from '../../cache/policy-source.js'
import { nav } from '../../fragments/nav/fragment.js'
import { PolicyStore } from '../../purge-service/policy-store.js'
import { startRedis } from '../support/redis.js'
import { until } from '../support/wait.js'

const server = await startRedis(t)
const redis = new Redis(server.url)
t.teardown(() => redis.disconnect())
const store = new PolicyStore(redis) // writes exactly as the purge service's ops API does
const log = createLogger('test', 'silent')

async function started(t: { teardown(fn: () => unknown): void }, options: { rereadMs?: number } = {}): Promise<PolicySource> {
  const source = await PolicySource.start({ fragment: 'nav', defaults: nav.policy, redis, log, ...options })
  t.teardown(() => source.close())
  return source
}

/** Milliseconds from `start` until `source` reports `ttl` (polled every millisecond; gives up after 2 s). */
async function msUntilTtl(source: PolicySource, ttl: number, start = performance.now()): Promise<number> {
  while (source.current().policy.ttl !== ttl) {
    if (performance.now() - start > 2000) throw new Error(`ttl ${ttl} not applied within 2 s`)
    await new Promise((r) => setTimeout(r, 1))
  }
  return performance.now() - start
}

t.beforeEach(async () => {
  await redis.flushall()
})

t.test('with no override the fragment serves its default, and says so', async (t) => {
  const source = await started(t)
  t.same(source.current(), { policy: nav.policy, source: 'default' })
  const app = buildFragmentApp(nav, { content: new ContentRepository(redis), redis, policies: source })
  t.teardown(() => app.close())
  const res = await app.inject('/fragments/nav')
  t.equal(res.headers['x-tessera-policy'], 'ttl=300; grace=60; keep=86400; source=default')
  t.equal(res.headers['cache-control'], 'public, s-maxage=300, stale-while-revalidate=60, stale-if-error=86400')
})

t.test('an override stored before the service starts applies from its first response', async (t) => {
  await store.set('nav', { ttl: 45, staleWhileRevalidate: 5, staleIfError: 600 }, 'ops')
  const source = await started(t)
  t.same(source.current(), { policy: { ttl: 45, staleWhileRevalidate: 5, staleIfError: 600 }, source: 'override' })
})

t.test('a published change applies within a second, and a cleared one brings the default back', async (t) => {
  const source = await started(t)
  const app = buildFragmentApp(nav, { content: new ContentRepository(redis), redis, policies: source })
  t.teardown(() => app.close())
  const setAt = performance.now()
  await store.set('nav', { ttl: 2, staleWhileRevalidate: 0, staleIfError: 3600 }, 'ops')
  const applied = await msUntilTtl(source, 2, setAt)
  t.ok(applied < 1000, `applied in ${applied.toFixed(1)} ms`)
  const res = await app.inject('/fragments/nav')
  t.equal(res.headers['x-tessera-policy'], 'ttl=2; grace=0; keep=3600; source=override')
  t.equal(res.headers['cache-control'], 'public, s-maxage=2, stale-while-revalidate=0, stale-if-error=3600')

  const clearedAt = performance.now()
  await store.clear('nav', 'ops')
  const cleared = await msUntilTtl(source, 300, clearedAt)
  t.ok(cleared < 1000, `cleared in ${cleared.toFixed(1)} ms`)
  t.same(source.current(), { policy: nav.policy, source: 'default' })
  t.equal((await app.inject('/fragments/nav')).headers['x-tessera-policy'], 'ttl=300; grace=60; keep=86400; source=default')
})

t.test("another fragment's change does not touch this one", async (t) => {
  const source = await started(t)
  await store.set('sidebar', { ttl: 7, staleWhileRevalidate: 0, staleIfError: 0 }, 'ops')
  await store.set('nav', { ttl: 8, staleWhileRevalidate: 0, staleIfError: 0 }, 'ops') // the messages arrive in order: once nav's is in, sidebar's was seen
  await msUntilTtl(source, 8)
  t.same(source.current().policy, { ttl: 8, staleWhileRevalidate: 0, staleIfError: 0 })
})

t.test('a change whose message was missed is picked up by the periodic re-read', async (t) => {
  const source = await started(t, { rereadMs: 200 })
  // Written without a message, as if the subscriber had been away when it was published.
  await redis.set(policyKey('nav'), JSON.stringify({ ttl: 11, grace: 1, keep: 1, updatedAt: new Date().toISOString(), by: 'ops' }))
  t.equal(source.current().policy.ttl, 300)
  const ms = await msUntilTtl(source, 11)
  t.ok(ms < 1000, `re-read after ${ms.toFixed(0)} ms`)
})

t.test('a change made while the subscription was cut is read as soon as it is back', async (t) => {
  const source = await started(t) // re-read every 30 s: only the reconnect can explain a quick pick-up
  await redis.client('KILL', 'TYPE', 'pubsub')
  await redis.set(policyKey('nav'), JSON.stringify({ ttl: 12, grace: 1, keep: 1, updatedAt: new Date().toISOString(), by: 'ops' }))
  const ms = await msUntilTtl(source, 12)
  t.ok(ms < 1000, `read after the reconnect, ${ms.toFixed(0)} ms`)
  await store.set('nav', { ttl: 15, staleWhileRevalidate: 1, staleIfError: 1 }, 'ops')
  await msUntilTtl(source, 15)
  t.pass('subscribed again: messages arrive')
})

t.test('a stored override that is not valid leaves the default in force', async (t) => {
  await redis.set(policyKey('nav'), JSON.stringify({ ttl: -1, grace: 1, keep: 1, updatedAt: 'x', by: 'ops' }))
  const source = await started(t)
  t.same(source.current(), { policy: nav.policy, source: 'default' })
})

t.test('several instances all follow one change; closing one releases its subscriber connection', async (t) => {
  const instances = await Promise.all([1, 2, 3].map(() => started(t)))
  const subscribers = async () => ((await redis.client('LIST')) as string).split('\n').filter((l) => l.includes('name=tessera-nav-policies ')).length
  t.equal(await subscribers(), 3, 'one subscriber connection each')
  await store.set('nav', { ttl: 13, staleWhileRevalidate: 1, staleIfError: 1 }, 'ops')
  for (const source of instances) await msUntilTtl(source, 13)
  await instances[0].close()
  await until('the connection to close', async () => (await subscribers()) === 2)
  await store.set('nav', { ttl: 14, staleWhileRevalidate: 1, staleIfError: 1 }, 'ops')
  await msUntilTtl(instances[1], 14)
  t.equal(instances[0].current().policy.ttl, 13, 'a closed source no longer changes')
})
