// A fragment service's effective cache policy: its default, or the ops override from Redis. Loaded at start,
// changed the moment a message arrives on `tessera:policies` (the message carries the override, so applying
// it needs no further round trip), and re-read every 30 s and after a reconnect in case a message was missed.
import type { Redis } from 'ioredis'
import type { FragmentName } from '../platform/config.js'
import type { Logger } from '../platform/log.js'
import { decodeChange, decodeOverride, POLICY_CHANNEL, type PolicyOverride, policyKey } from './policy-overrides.js'
import type { CachePolicy, EffectivePolicy } from './policy.js'

export interface PolicySourceOptions {
  fragment: FragmentName
  defaults: CachePolicy
  /** Command connection, for reads; the subscription gets its own connection, duplicated from this one. */
  redis: Redis
  log: Pick<Logger, 'info' | 'warn' | 'error'>
  rereadMs?: number
}

export class PolicySource {
  private state: EffectivePolicy
  /** Bumped by every change message: a re-read that started before one must not overwrite it. */
  private generation = 0
  private subscribed = false
  private closed = false
  private readonly subscriber: Redis
  private readonly timer: NodeJS.Timeout

  private constructor(private readonly options: PolicySourceOptions) {
    this.state = { policy: options.defaults, source: 'default' }
    // A connection in subscriber mode cannot run other commands.
    this.subscriber = options.redis.duplicate({ connectionName: `tessera-${options.fragment}-policies` })
    this.subscriber.on('message', (_channel: string, message: string) => this.onMessage(message))
    this.subscriber.on('error', (err: Error) => options.log.warn({ err, code: 'TESSERA_POLICY_SUBSCRIBER' }, 'policy subscription: redis error'))
    // After a reconnect ioredis subscribes again; what changed meanwhile is read here.
    this.subscriber.on('ready', () => void this.reread())
    this.timer = setInterval(() => void this.reread(), options.rereadMs ?? 30_000)
    this.timer.unref()
  }

  /** Subscribes, then reads the override (in that order, so no change falls between them). Never throws:
   * with Redis away the defaults apply until the periodic re-read succeeds. */
  static async start(options: PolicySourceOptions): Promise<PolicySource> {
    const source = new PolicySource(options)
    await source.subscribe()
    await source.reread()
    return source
  }

  current(): EffectivePolicy {
    return this.state
  }

  async reread(): Promise<void> {
    if (this.closed) return
    if (!this.subscribed) await this.subscribe()
    const generation = this.generation
    let raw: string | null
    try {
      raw = await this.options.redis.get(policyKey(this.options.fragment))
    } catch (err) {
      this.options.log.warn({ err, code: 'TESSERA_POLICY_UNREADABLE', fragment: this.options.fragment }, 'could not read the policy override; keeping the current policy')
      return
    }
    if (generation !== this.generation) return // a change message arrived meanwhile: it is at least as new
    let override: PolicyOverride | undefined
    try {
      override = decodeOverride(raw)
    } catch (err) {
      this.options.log.error({ err, code: 'TESSERA_POLICY_INVALID', fragment: this.options.fragment }, 'the stored policy override is not valid; using the default')
    }
    this.apply(override)
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    await this.subscriber.quit().catch(() => this.subscriber.disconnect())
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(POLICY_CHANNEL)
      this.subscribed = true
    } catch (err) {
      this.options.log.warn({ err, code: 'TESSERA_POLICY_SUBSCRIBER' }, `could not subscribe to ${POLICY_CHANNEL}; retrying with the periodic re-read`)
    }
  }

  private onMessage(message: string): void {
    try {
      const change = decodeChange(message)
      if (change.fragment !== this.options.fragment) return
      this.generation++
      this.apply(change.override ?? undefined)
    } catch (err) {
      this.options.log.warn({ err, code: 'TESSERA_POLICY_MESSAGE' }, 'ignored a malformed policy change message')
    }
  }

  private apply(override: PolicyOverride | undefined): void {
    const next: EffectivePolicy = override
      ? { policy: { ttl: override.ttl, staleWhileRevalidate: override.staleWhileRevalidate, staleIfError: override.staleIfError }, source: 'override' }
      : { policy: this.options.defaults, source: 'default' }
    const { policy, source } = this.state
    if (source === next.source && policy.ttl === next.policy.ttl && policy.staleWhileRevalidate === next.policy.staleWhileRevalidate && policy.staleIfError === next.policy.staleIfError) return
    this.state = next
    this.options.log.info({ fragment: this.options.fragment, ...next }, 'cache policy changed')
  }
}
