// The sections service itself (app.inject, real Redis): a (slot, scope) with no blocks at all answers with
// the long policy of what only a purging edit can change; one with a block, or with a block scheduled for
// later, keeps the fragment's own policy (clamped to the schedule); an ops override applies as it is.
import { Redis } from 'ioredis'
import t from 'tap'
import { ContentRepository } from '../../content/repository.js'
import { buildFragmentApp } from '../../fragments/kit/app.js'
import { sections } from '../../fragments/sections/fragment.js'
import { SHELL_POLICY } from '../../layouts/app.js'
import { cacheControl } from '../../cache/policy.js'
import { PolicySource } from '../../cache/policy-source.js'
import { createLogger } from '../../platform/log.js'
import { PolicyStore } from '../../purge-service/policy-store.js'
import { startRedis } from '../support/redis.js'
import { until } from '../support/wait.js'

const server = await startRedis(t)
const redis = new Redis(server.url)
t.teardown(() => redis.disconnect())
const content = new ContentRepository(redis)
const store = new PolicyStore(redis) // writes exactly as the purge service's ops API does
const log = createLogger('test', 'silent')

const SLOT = '/fragments/sections/sidebar/article/42'
const LONG = 'public, s-maxage=3600, stale-while-revalidate=60, stale-if-error=86400'
const DEFAULT = 'public, s-maxage=120, stale-while-revalidate=30, stale-if-error=86400'

async function sectionsApp(t: { teardown(fn: () => unknown): void }) {
  const policies = await PolicySource.start({ fragment: 'sections', defaults: sections.policy, redis, log })
  const app = buildFragmentApp(sections, { content, redis, policies, logLevel: 'silent' })
  t.teardown(async () => {
    await app.close()
    await policies.close()
  })
  return { app, policies }
}

const block = (over: Record<string, unknown> = {}) => ({ slot: 'sidebar', kind: 'text', content: 'For article 42', position: 1, scope: 'article:42', ...over })

t.beforeEach(async () => {
  await redis.flushall()
})

t.test('an empty slot is cached like a page shell, and says why', async (t) => {
  const { app } = await sectionsApp(t)
  t.equal(cacheControl(SHELL_POLICY), LONG, 'the page shells\' policy')
  const res = await app.inject(SLOT)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], LONG)
  t.equal(res.headers['x-tessera-policy'], 'ttl=3600; grace=60; keep=86400; source=default; for=empty-slot')
  t.equal(res.headers['x-tessera-expires-at'], undefined, 'nothing is scheduled')
  t.match(res.headers.xkey, /\bslot:sidebar\.article\.42\b/, 'tagged with its slot key, which a block entering it purges')
  t.ok(res.headers['x-tessera-checked-at'], 'checked against the purges, as every cached answer')
  const site = await app.inject('/fragments/sections/main')
  t.equal(site.headers['cache-control'], LONG, 'the site scope\'s empty slot too')
})

t.test('a slot with a block keeps the fragment\'s policy', async (t) => {
  const { app } = await sectionsApp(t)
  await content.putBlock('promo', block())
  const res = await app.inject(SLOT)
  t.match(res.body, 'For article 42')
  t.equal(res.headers['cache-control'], DEFAULT)
  t.equal(res.headers['x-tessera-policy'], 'ttl=120; grace=30; keep=86400; source=default')
})

t.test('a slot with only a draft, or only an expired block, is not empty', async (t) => {
  const { app } = await sectionsApp(t)
  await content.putBlock('draft', block({ draft: true }))
  const drafted = await app.inject(SLOT)
  t.notMatch(drafted.body, 'For article 42', 'readers do not see the draft')
  t.equal(drafted.headers['cache-control'], DEFAULT)
  await content.deleteBlock('draft')
  await content.putBlock('past', block({ startsAt: '2020-01-01T00:00:00.000Z', endsAt: '2020-02-01T00:00:00.000Z' }))
  t.equal((await app.inject(SLOT)).headers['cache-control'], DEFAULT)
})

t.test('a slot with only a block scheduled for later keeps the clamp to its start', async (t) => {
  const { app } = await sectionsApp(t)
  const startsAt = new Date(Date.now() + 60_000)
  await content.putBlock('later', block({ startsAt: startsAt.toISOString() }))
  const res = await app.inject(SLOT)
  t.notMatch(res.body, 'For article 42', 'not shown yet')
  const [, ttl] = /s-maxage=(\d+), stale-while-revalidate=0, stale-if-error=86400/.exec(res.headers['cache-control'] as string) ?? []
  t.ok(ttl !== undefined && Number(ttl) <= 60 && Number(ttl) >= 58, `TTL clamped to the start (${res.headers['cache-control']})`)
  t.equal(res.headers['x-tessera-expires-at'], (startsAt.getTime() / 1000).toFixed(3), 'the exact moment')
  t.match(res.headers['x-tessera-policy'], /source=default; until=/)
  t.notMatch(res.headers['x-tessera-policy'], 'empty-slot')
})

t.test('an ops override of the sections policy applies to an empty slot as it is, shorter or longer', async (t) => {
  const { app, policies } = await sectionsApp(t)
  await store.set('sections', { ttl: 20, staleWhileRevalidate: 5, staleIfError: 600 }, 'ops')
  await until('the override to apply', async () => policies.current().source === 'override')
  const shorter = await app.inject(SLOT)
  t.equal(shorter.headers['cache-control'], 'public, s-maxage=20, stale-while-revalidate=5, stale-if-error=600')
  t.equal(shorter.headers['x-tessera-policy'], 'ttl=20; grace=5; keep=600; source=override')

  await store.set('sections', { ttl: 7200, staleWhileRevalidate: 0, staleIfError: 3600 }, 'ops')
  await until('the longer override to apply', async () => policies.current().policy.ttl === 7200)
  t.equal((await app.inject(SLOT)).headers['x-tessera-policy'], 'ttl=7200; grace=0; keep=3600; source=override', 'the override, not the empty-slot policy')

  await store.clear('sections', 'ops')
  await until('the default to return', async () => policies.current().source === 'default')
  t.equal((await app.inject(SLOT)).headers['cache-control'], LONG, 'the empty-slot policy again')
})

t.test('a hub\'s modules keep the fragment\'s policy (an empty one too)', async (t) => {
  const { app } = await sectionsApp(t)
  await content.putHub('spring', { title: 'Spring', modules: [{ kind: 'blocks', slot: 'main' }] })
  const res = await app.inject('/fragments/sections/modules/spring/0')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], DEFAULT)
})
