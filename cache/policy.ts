// A fragment's cache policy and the standard header that states it to the edge.

export interface CachePolicy {
  ttl: number // seconds the edge serves it as fresh
  staleWhileRevalidate: number // seconds it may be served stale while a fresh copy is fetched
  staleIfError: number // seconds a stale copy is kept for when the origin fails
}

/**
 * A policy as the outside world spells it: the ops API's JSON, TESSERA_TTL_FILE, the overrides stored in Redis
 * and X-Tessera-Policy all say `grace` (stale-while-revalidate) and `keep` (stale-if-error). These names are a
 * contract; code converts at those boundaries with policyFromWire / policyToWire and nowhere else.
 */
export interface WirePolicy {
  ttl: number
  grace: number
  keep: number
}

export const policyFromWire = ({ ttl, grace, keep }: WirePolicy): CachePolicy => ({ ttl, staleWhileRevalidate: grace, staleIfError: keep })

export const policyToWire = ({ ttl, staleWhileRevalidate, staleIfError }: CachePolicy): WirePolicy => ({ ttl, grace: staleWhileRevalidate, keep: staleIfError })

/** Where a fragment's effective policy comes from: its code, or an ops override (see policy-source.ts). */
export type PolicyOrigin = 'default' | 'override'

export interface EffectivePolicy {
  policy: CachePolicy
  source: PolicyOrigin
  /** Why this response has its own policy in place of the fragment's default (see RenderPolicy). */
  reason?: string
}

/**
 * A policy a render names for one response in place of its fragment's default, and why (X-Tessera-Policy
 * says `for=<reason>`): e.g. an empty block slot, which only an edit that purges it can change.
 */
export interface RenderPolicy {
  policy: CachePolicy
  reason: string
}

/** The policy a route applies now; read on every response, so an ops override takes effect at once. */
export type PolicyReader = () => EffectivePolicy

/** A policy nobody overrides (page shells, tests). */
export const fixedPolicy = (policy: CachePolicy): PolicyReader => () => ({ policy, source: 'default' })

/**
 * For what only an edit can change, where every such edit purges it: a page shell, an empty block slot. Long,
 * since the purge replaces it at once; bounded, in case a purge never arrives.
 */
export const PURGED_ON_EDIT_POLICY: CachePolicy = { ttl: 3600, staleWhileRevalidate: 60, staleIfError: 86_400 }

/**
 * The policy of one response: the render's own (RenderPolicy) in place of the fragment's default, but never
 * in place of an ops override. An override is ops' word for every object of the fragment, and the one policy
 * the ops API reports as effective: it applies as it is, shorter or longer than the render's own.
 */
export function policyForResponse(route: EffectivePolicy, own: RenderPolicy | undefined): EffectivePolicy {
  if (!own || route.source === 'override') return route
  return { policy: own.policy, source: route.source, reason: own.reason }
}

/** Short, fixed policy for "not found" answers: long enough to absorb a burst, short enough not to matter. */
export const NOT_FOUND_POLICY: CachePolicy = { ttl: 30, staleWhileRevalidate: 0, staleIfError: 0 }

/** The policy of one response; a scheduled one also says the exact moment it must expire. */
export interface ResponsePolicy extends CachePolicy {
  /** ms since the epoch: what the object shows is scheduled to change then (sent as X-Tessera-Expires-At). */
  expiresAt?: number
}

/**
 * The policy for one response: the fragment's policy, with the TTL clamped so the object expires exactly
 * when what it shows is scheduled to change (and no stale-while-revalidate, so the change shows at that moment).
 * s-maxage has whole seconds: it is rounded down (a cache that reads only it refetches a little early, never
 * late), and the exact moment goes in `expiresAt`, which our edge uses to the millisecond (varnish/policy.vcl).
 */
export function policyUntil(policy: CachePolicy, nextChange: Date | undefined, now: Date): ResponsePolicy {
  if (!nextChange) return policy
  const ms = Math.max(0, nextChange.getTime() - now.getTime())
  if (ms >= policy.ttl * 1000) return policy
  return { ttl: Math.floor(ms / 1000), staleWhileRevalidate: 0, staleIfError: policy.staleIfError, expiresAt: nextChange.getTime() }
}

/** The X-Tessera-Expires-At value: seconds since the epoch with milliseconds, as X-Tessera-Checked-At. */
export function expiresAtHeader(policy: ResponsePolicy): string | undefined {
  return policy.expiresAt === undefined ? undefined : (policy.expiresAt / 1000).toFixed(3)
}

export function cacheControl(policy: CachePolicy): string {
  return `public, s-maxage=${policy.ttl}, stale-while-revalidate=${policy.staleWhileRevalidate}, stale-if-error=${policy.staleIfError}`
}

export function describePolicy(policy: ResponsePolicy, source: PolicyOrigin, reason?: string): string {
  const why = reason === undefined ? '' : `; for=${reason}`
  const until = policy.expiresAt === undefined ? '' : `; until=${new Date(policy.expiresAt).toISOString()}`
  const { ttl, grace, keep } = policyToWire(policy)
  return `ttl=${ttl}; grace=${grace}; keep=${keep}; source=${source}${why}${until}`
}
