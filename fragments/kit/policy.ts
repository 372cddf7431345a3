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

/**
 * The policy for one response: the fragment's policy, with the TTL clamped so the object expires exactly
 * when what it shows is scheduled to change (and no grace, so the change shows at that second).
 */
export function policyUntil(policy: CachePolicy, nextChange: Date | undefined, now: Date): CachePolicy {
  if (!nextChange) return policy
  const seconds = Math.max(0, Math.ceil((nextChange.getTime() - now.getTime()) / 1000))
  if (seconds >= policy.ttl) return policy
  return { ttl: seconds, grace: 0, keep: policy.keep }
}

export function cacheControl(policy: CachePolicy): string {
  return `public, s-maxage=${policy.ttl}, stale-while-revalidate=${policy.grace}, stale-if-error=${policy.keep}`
}

export function describePolicy(policy: CachePolicy, source: PolicyOrigin): string {
  return `ttl=${policy.ttl}; grace=${policy.grace}; keep=${policy.keep}; source=${source}`
}
