// Ops overrides of fragment cache policies: read them beside each default, set or clear one. A change is one
// MULTI/EXEC: the override, its audit entry and the pub/sub message every fragment service acts on.
import type { Redis } from 'ioredis'
import { FRAGMENT_NAMES, type FragmentName } from '../platform/config.js'
import { type CachePolicy, type PolicyOrigin, policyToWire, type WirePolicy } from '../cache/policy.js'
import { decodeOverride, encodeChange, encodeOverride, overrideToWire, POLICY_CHANNEL, type PolicyOverride, policyKey, type WireOverride } from '../cache/policy-overrides.js'
import { DEFAULT_POLICIES } from '../fragments/registry.js'

export const POLICY_AUDIT_KEY = 'tessera:policy-audit'
const AUDIT_LENGTH = 1000

export interface FragmentPolicy {
  fragment: FragmentName
  default: CachePolicy
  override?: PolicyOverride
  effective: CachePolicy
  source: PolicyOrigin
}

/** A FragmentPolicy as the ops API answers it. */
export interface WireFragmentPolicy {
  fragment: FragmentName
  default: WirePolicy
  override?: WireOverride
  effective: WirePolicy
  source: PolicyOrigin
}

export function fragmentPolicyToWire({ fragment, default: defaults, override, effective, source }: FragmentPolicy): WireFragmentPolicy {
  const wireDefault = policyToWire(defaults)
  const wireEffective = policyToWire(effective)
  return override
    ? { fragment, default: wireDefault, override: overrideToWire(override), effective: wireEffective, source }
    : { fragment, default: wireDefault, effective: wireEffective, source }
}

interface PolicyChangeRecord {
  who: string
  what: 'set' | 'clear'
  fragment: FragmentName
  when: string
  before: PolicyOverride | null
  after: PolicyOverride | null
}

/** One audit log entry, stored as the ops API answers it (wire names), so old entries read back unchanged. */
export interface PolicyAuditEntry extends Omit<PolicyChangeRecord, 'before' | 'after'> {
  before: WireOverride | null
  after: WireOverride | null
}

export class PolicyStore {
  /** Changes from this process one at a time, so each audit entry's `before` is what it replaced. */
  private tail: Promise<unknown> = Promise.resolve()

  constructor(private readonly redis: Redis) {}

  async list(): Promise<FragmentPolicy[]> {
    const raw = await this.redis.mget(...FRAGMENT_NAMES.map(policyKey))
    return FRAGMENT_NAMES.map((fragment, i) => view(fragment, readable(raw[i])))
  }

  async get(fragment: FragmentName): Promise<FragmentPolicy> {
    return view(fragment, readable(await this.redis.get(policyKey(fragment))))
  }

  /** Sets the override; `changed` is false when it already had exactly these values (nothing is written). */
  set(fragment: FragmentName, policy: CachePolicy, who: string, options: { unlessSame?: boolean } = {}): Promise<{ policy: FragmentPolicy; changed: boolean }> {
    return this.serially(async () => {
      const before = (await this.get(fragment)).override
      if (options.unlessSame && before && samePolicy(before, policy)) return { policy: view(fragment, before), changed: false }
      const after: PolicyOverride = { ...policy, updatedAt: new Date().toISOString(), by: who }
      await this.write({ who, what: 'set', fragment, when: after.updatedAt, before: before ?? null, after })
      return { policy: view(fragment, after), changed: true }
    })
  }

  /** Clears the override; `changed` is false when there was none (nothing is written). */
  clear(fragment: FragmentName, who: string): Promise<{ policy: FragmentPolicy; changed: boolean }> {
    return this.serially(async () => {
      const before = (await this.get(fragment)).override
      if (!before) return { policy: view(fragment, undefined), changed: false }
      await this.write({ who, what: 'clear', fragment, when: new Date().toISOString(), before, after: null })
      return { policy: view(fragment, undefined), changed: true }
    })
  }

  async audit(limit: number): Promise<PolicyAuditEntry[]> {
    return (await this.redis.lrange(POLICY_AUDIT_KEY, 0, limit - 1)).map((row) => JSON.parse(row) as PolicyAuditEntry)
  }

  private async write(change: PolicyChangeRecord): Promise<void> {
    const entry: PolicyAuditEntry = {
      ...change,
      before: change.before && overrideToWire(change.before),
      after: change.after && overrideToWire(change.after),
    }
    const tx = this.redis.multi()
    if (change.after) tx.set(policyKey(change.fragment), encodeOverride(change.after))
    else tx.del(policyKey(change.fragment))
    tx.lpush(POLICY_AUDIT_KEY, JSON.stringify(entry))
      .ltrim(POLICY_AUDIT_KEY, 0, AUDIT_LENGTH - 1)
      .publish(POLICY_CHANNEL, encodeChange({ fragment: change.fragment, override: change.after }))
    const results = await tx.exec()
    const failed = results?.find(([err]) => err)
    if (!results || failed) throw failed?.[0] ?? new Error('policy change transaction was discarded')
  }

  private serially<T>(change: () => Promise<T>): Promise<T> {
    const run = this.tail.then(change, change)
    this.tail = run.catch(() => undefined)
    return run
  }
}

/** A stored override the fragment services would also refuse counts as none (they keep their defaults). */
function readable(raw: string | null): PolicyOverride | undefined {
  try {
    return decodeOverride(raw)
  } catch {
    return undefined
  }
}

function view(fragment: FragmentName, override: PolicyOverride | undefined): FragmentPolicy {
  const defaults = DEFAULT_POLICIES[fragment]
  if (!override) return { fragment, default: defaults, effective: defaults, source: 'default' }
  return { fragment, default: defaults, override, effective: { ttl: override.ttl, staleWhileRevalidate: override.staleWhileRevalidate, staleIfError: override.staleIfError }, source: 'override' }
}

const samePolicy = (a: CachePolicy, b: CachePolicy): boolean => a.ttl === b.ttl && a.staleWhileRevalidate === b.staleWhileRevalidate && a.staleIfError === b.staleIfError
