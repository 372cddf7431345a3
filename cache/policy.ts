// A fragment's cache policy and the standard header that states it to the edge.

export interface CachePolicy {
  ttl: number // seconds the edge serves it as fresh
  grace: number // seconds it may be served stale while a fresh copy is fetched (stale-while-revalidate)
  keep: number // seconds a stale copy is kept for when the origin fails (stale-if-error)
}

/** Where a fragment's effective policy comes from: its code, or an ops override (see policy-source.ts). */
export type PolicyOrigin = 'default' | 'override'

export interface EffectivePolicy {
  policy: CachePolicy
  source: PolicyOrigin
}

/** The policy a route applies now; read on every response, so an ops override takes effect at once. */
export type PolicyReader = () => EffectivePolicy

/** A policy nobody overrides (page shells, tests). */
export const fixedPolicy = (policy: CachePolicy): PolicyReader => () => ({ policy, source: 'default' })

/** Short, fixed policy for "not found" answers: long enough to absorb a burst, short enough not to matter. */
export const NOT_FOUND_POLICY: CachePolicy = { ttl: 30, grace: 0, keep: 0 }

/** The policy of one response; a scheduled one also says the exact moment it must expire. */
export interface ResponsePolicy extends CachePolicy {
  /** ms since the epoch: what the object shows is scheduled to change then (sent as X-Tessera-Expires-At). */
  expiresAt?: number
}

/**
 * The policy for one response: the fragment's policy, with the TTL clamped so the object expires exactly
 * when what it shows is scheduled to change (and no grace, so the change shows at that moment). s-maxage has
 * whole seconds: it is rounded down (a cache that reads only it refetches a little early, never late), and the
 * exact moment goes in `expiresAt`, which our edge uses to the millisecond (varnish/policy.vcl).
 */
export function policyUntil(policy: CachePolicy, nextChange: Date | undefined, now: Date): ResponsePolicy {
  if (!nextChange) return policy
  const ms = Math.max(0, nextChange.getTime() - now.getTime())
  if (ms >= policy.ttl * 1000) return policy
  return { ttl: Math.floor(ms / 1000), grace: 0, keep: policy.keep, expiresAt: nextChange.getTime() }
}

/** The X-Tessera-Expires-At value: seconds since the epoch with milliseconds, as X-Tessera-Checked-At. */
export function expiresAtHeader(policy: ResponsePolicy): string | undefined {
  return policy.expiresAt === undefined ? undefined : (policy.expiresAt / 1000).toFixed(3)
}

export function cacheControl(policy: CachePolicy): string {
  return `public, s-maxage=${policy.ttl}, stale-while-revalidate=${policy.grace}, stale-if-error=${policy.keep}`
}

export function describePolicy(policy: ResponsePolicy, source: PolicyOrigin): string {
  const until = policy.expiresAt === undefined ? '' : `; until=${new Date(policy.expiresAt).toISOString()}`
  return `ttl=${policy.ttl}; grace=${policy.grace}; keep=${policy.keep}; source=${source}${until}`
}
