// Ops overrides of a fragment's cache policy, as they live in Redis: written by the purge service's ops API
// (and TESSERA_TTL_FILE), read by every fragment service (policy-source.ts).
//   tessera:policy:<fragment>   JSON {ttl, grace, keep, updatedAt, by} (wire names); absent: the fragment's default
//   tessera:policies            pub/sub channel, one message per change: {fragment, override | null}
import type { FragmentName } from '../platform/config.js'
import { InvalidInput } from '../platform/errors.js'
import { type CachePolicy, policyFromWire, policyToWire, type WirePolicy } from './policy.js'

export const policyKey = (fragment: FragmentName): string => `tessera:policy:${fragment}`
export const POLICY_CHANNEL = 'tessera:policies'

export interface PolicyOverride extends CachePolicy {
  updatedAt: string
  /** `ops` (the API) or `file` (TESSERA_TTL_FILE). */
  by: string
}

/** An override as it is stored, published, audited and answered by the ops API: the policy in wire names. */
export interface WireOverride extends WirePolicy {
  updatedAt: string
  by: string
}

export const overrideToWire = ({ updatedAt, by, ...policy }: PolicyOverride): WireOverride => ({ ...policyToWire(policy), updatedAt, by })

export interface PolicyChange {
  fragment: FragmentName
  override: PolicyOverride | null
}

/** Upper bounds, in seconds: a week of TTL, a day of grace, 30 days of keep. In wire names, as errors name fields. */
export const POLICY_LIMITS: Readonly<WirePolicy> = { ttl: 604_800, grace: 86_400, keep: 2_592_000 }
const FIELDS = Object.keys(POLICY_LIMITS) as Array<keyof WirePolicy>

/**
 * `{"ttl": s, "grace": s, "keep": s}`: exactly these three, integers within POLICY_LIMITS. Throws
 * InvalidInput naming the field (`at.field` when `at` is given, as in a TTL file).
 */
export function parsePolicy(input: unknown, at?: string): CachePolicy {
  const field = (name: string) => (at ? `${at}.${name}` : name)
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInput(at ?? 'body', 'must be an object {"ttl": seconds, "grace": seconds, "keep": seconds}')
  }
  const record = input as Record<string, unknown>
  for (const name of Object.keys(record)) {
    if (!FIELDS.includes(name as keyof WirePolicy)) throw new InvalidInput(field(name), 'unknown field; a policy has exactly ttl, grace and keep')
  }
  const wire = {} as WirePolicy
  for (const name of FIELDS) {
    const value = record[name]
    if (value === undefined) throw new InvalidInput(field(name), `is required (seconds, 0 to ${POLICY_LIMITS[name]})`)
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > POLICY_LIMITS[name]) {
      throw new InvalidInput(field(name), `must be an integer number of seconds from 0 to ${POLICY_LIMITS[name]}`)
    }
    wire[name] = value
  }
  return policyFromWire(wire)
}

/** A stored override, or undefined when there is none; throws InvalidInput when what is stored is not one. */
export function decodeOverride(raw: string | null): PolicyOverride | undefined {
  if (raw === null) return undefined
  let stored: unknown
  try {
    stored = JSON.parse(raw)
  } catch {
    throw new InvalidInput('override', 'is not JSON')
  }
  const { updatedAt, by, ...policy } = (stored ?? {}) as Record<string, unknown>
  if (typeof updatedAt !== 'string' || typeof by !== 'string') throw new InvalidInput('override', 'lacks updatedAt or by')
  return { ...parsePolicy(policy, 'override'), updatedAt, by }
}

export const encodeOverride = (override: PolicyOverride): string => JSON.stringify(overrideToWire(override))

export const encodeChange = ({ fragment, override }: PolicyChange): string => JSON.stringify({ fragment, override: override && overrideToWire(override) })

export function decodeChange(message: string): PolicyChange {
  const { fragment, override } = JSON.parse(message) as { fragment?: unknown; override?: unknown }
  if (typeof fragment !== 'string') throw new InvalidInput('fragment', 'missing from the policy change message')
  return { fragment: fragment as FragmentName, override: override === null ? null : (decodeOverride(JSON.stringify(override)) ?? null) }
}
