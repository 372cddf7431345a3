import t from 'tap'
import { keyHeaderValues, MAX_KEY_HEADER_BYTES, normaliseKeys } from '../../cache/keys.js'
import { cacheControl, describePolicy, expiresAtHeader, policyForResponse, policyUntil } from '../../cache/policy.js'

t.test('the origin states its policy as standard Cache-Control', async (t) => {
  t.equal(cacheControl({ ttl: 300, staleWhileRevalidate: 60, staleIfError: 86400 }), 'public, s-maxage=300, stale-while-revalidate=60, stale-if-error=86400')
})

t.test('a scheduled change clamps the TTL to the millisecond and drops grace so it shows at that moment', async (t) => {
  const now = new Date('2026-01-01T00:00:00Z')
  const policy = { ttl: 300, staleWhileRevalidate: 60, staleIfError: 1000 }
  t.same(policyUntil(policy, undefined, now), policy)
  t.same(policyUntil(policy, new Date('2026-01-01T00:10:00Z'), now), policy, 'a change after the TTL changes nothing')
  const clamped = policyUntil(policy, new Date('2026-01-01T00:00:42.300Z'), now)
  t.same(clamped, { ttl: 42, staleWhileRevalidate: 0, staleIfError: 1000, expiresAt: Date.parse('2026-01-01T00:00:42.300Z') }, 's-maxage rounded down, never late')
  t.equal(expiresAtHeader(clamped), '1767225642.300', 'the exact moment for the edge')
  t.equal(expiresAtHeader(policy), undefined, 'no schedule, no moment')
  t.same(policyUntil(policy, new Date('2026-01-01T00:00:00.400Z'), now), { ttl: 0, staleWhileRevalidate: 0, staleIfError: 1000, expiresAt: Date.parse('2026-01-01T00:00:00.400Z') })
  t.equal(describePolicy(clamped, 'default'), 'ttl=42; grace=0; keep=1000; source=default; until=2026-01-01T00:00:42.300Z')
})

t.test("a render's own policy replaces the fragment's default, never an ops override", async (t) => {
  const fragment = { ttl: 120, staleWhileRevalidate: 30, staleIfError: 86400 }
  const own = { policy: { ttl: 3600, staleWhileRevalidate: 60, staleIfError: 86400 }, reason: 'empty-slot' }
  const chosen = policyForResponse({ policy: fragment, source: 'default' }, own)
  t.same(chosen, { policy: own.policy, source: 'default', reason: 'empty-slot' })
  t.equal(describePolicy(chosen.policy, chosen.source, chosen.reason), 'ttl=3600; grace=60; keep=86400; source=default; for=empty-slot')
  t.same(policyForResponse({ policy: fragment, source: 'default' }, undefined), { policy: fragment, source: 'default' })
  const override = { policy: { ttl: 10, staleWhileRevalidate: 0, staleIfError: 60 }, source: 'override' as const }
  t.same(policyForResponse(override, own), override, 'the override as it is')
})

t.test('surrogate keys are validated, de-duplicated and split under the header limit', async (t) => {
  t.same(normaliseKeys(['nav', 'nav', 'article:1']), ['nav', 'article:1'])
  t.throws(() => normaliseKeys(['article:1 list:latest']), /not of the form/)
  t.throws(() => normaliseKeys(['Bad']), /not of the form/)
  const many = Array.from({ length: 1000 }, (_, i) => `block:generated-block-${i}`)
  const lines = keyHeaderValues(normaliseKeys(many))
  t.ok(lines.length > 1, `split over ${lines.length} header lines`)
  for (const line of lines) t.ok(line.length <= MAX_KEY_HEADER_BYTES)
  t.same(lines.join(' ').split(' '), many, 'no key lost or cut')
})
