// The purge path: coalesce bursts, mark the keys purged (so origins re-check renders in flight), send the
// purge to every edge node in parallel, queue it durably for any node that did not take it, retry those
// queues with backoff until they converge, and keep an audit log. The edge nodes are the live edge set
// (edge-set.ts), read at each send; with several purge-service instances, a node's queue is drained by one of
// them at a time (a lease in Redis), each queued purge taken off only once it was delivered.
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Logger } from '../platform/log.js'
import { markPurged } from '../cache/key-index.js'
import { confirmReplicated } from '../platform/redis.js'
import { EdgeClient, type NodeAck, type PurgeMode } from './edge-client.js'
import { type EdgeSet, LIVE_URLS_KEY, queueKeyOf, queueLeaseKeyOf } from '../topology/edge-set.js'

export interface PurgeTarget {
  keys: string[]
  urls: string[]
}

export interface NodeResult {
  node: string
  /** shield: purged (or queued) before any edge was told. */
  tier: 'shield' | 'edge'
  ok: boolean
  status?: number
  purged?: number
  ms?: number
  error?: { code: string; message: string }
  queued?: boolean
}

export interface PurgeRecord {
  id: string
  at: string
  who: string
  source: 'api' | 'event'
  mode: PurgeMode
  keys: string[]
  urls: string[]
  complete: boolean
  /** When every node had answered (acknowledged, or failed and queued). */
  ackedAt: string
  nodes: NodeResult[]
}

export interface NodeLag {
  node: string
  tier: 'shield' | 'edge'
  pending: number
  oldestQueuedAt?: string
  lagMs: number
  lastError?: string
}

/** ok: the node acknowledged it; failed: it did not (the purge is queued); queued: sent later, behind earlier ones. */
export type SendOutcome = 'ok' | 'failed' | 'queued'
/** Told of every purge as each node takes it or not (metrics and GET /stats count them). */
export type SendObserver = (node: string, target: PurgeTarget, outcome: SendOutcome) => void

interface QueuedPurge extends PurgeTarget {
  id: string
  mode: PurgeMode
  at: number
}

const AUDIT_KEY = 'tessera:purge-audit'
const AUDIT_LENGTH = 1000
const queueKey = queueKeyOf
const MIN_BACKOFF_MS = 200
const MAX_BACKOFF_MS = 10_000
/** How often each instance looks for queues to drain (another instance's lease may have run out). */
const SWEEP_MS = 1000

// A queued purge goes into a node's queue only while the node is in the live set: a removed node's deleted
// queue does not come back from a send that was under way.
const ENQUEUE_IF_LIVE = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return -1 end
return redis.call('RPUSH', KEYS[1], ARGV[2])`
// Take or renew the lease (held by ARGV[1] for ARGV[2] ms): 1 if this instance holds it now.
const HOLD_LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`
const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`
// The head goes only if it is still the purge just delivered (never one another instance has not sent).
const POP_IF_HEAD = `
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then redis.call('LPOP', KEYS[1]) return 1 end
return 0`

export interface PurgerOptions {
  redis: Redis
  nodes: string[]
  /** The shield tier (varnish/shield.vcl): purged first; the edges only once every shield answered. */
  shields?: string[]
  secret: string
  timeoutMs: number
  coalesceMs: number
  log: Logger
  /** The live edge set: read at each send instead of `nodes` (which is then only the first guess). */
  edgeSet?: EdgeSet
  /** This instance's name in the queue leases (host:port); default: the process id. */
  instanceName?: string
  /** How long a lease on a node's queue lasts unless renewed (TESSERA_PURGE_LEASE_MS); default 5000. */
  queueLeaseMs?: number
}

export class Purger {
  private readonly clients = new Map<string, EdgeClient>()
  private liveNodes: string[]
  private sweeper: NodeJS.Timeout | undefined
  private readonly shieldClients: EdgeClient[]
  private readonly lastSent = new Map<string, number>()
  private pending: { target: PurgeTarget; mode: PurgeMode; timer: NodeJS.Timeout; fireAt: number; done: Promise<NodeResult[]>; resolve: (r: NodeResult[]) => void; reject: (e: unknown) => void } | undefined
  private readonly retry = new Map<string, { timer?: NodeJS.Timeout; backoff: number; lastError?: string; draining: boolean }>()
  private closed = false
  private readonly observers: SendObserver[] = []

  constructor(private readonly options: PurgerOptions) {
    this.liveNodes = [...options.nodes]
    this.shieldClients = (options.shields ?? []).map((node) => new EdgeClient(node, options.secret, options.timeoutMs))
  }

  /** The edge nodes as of the last send (or refresh). */
  get nodes(): string[] {
    return this.liveNodes
  }

  get edgeSet(): EdgeSet | undefined {
    return this.options.edgeSet
  }

  /** Reads the live edge set now: the nodes the next purge goes to. Nodes that left lose their client. */
  async refreshNodes(): Promise<string[]> {
    if (!this.options.edgeSet) return this.liveNodes
    const urls = await this.options.edgeSet.liveUrls()
    for (const [node, client] of this.clients) {
      if (urls.includes(node)) continue
      this.clients.delete(node)
      const state = this.retry.get(node)
      clearTimeout(state?.timer)
      this.retry.delete(node)
      void client.close().catch(() => {})
    }
    this.liveNodes = urls
    return urls
  }

  private retryState(node: string) {
    let state = this.retry.get(node)
    if (!state) this.retry.set(node, (state = { backoff: MIN_BACKOFF_MS, draining: false }))
    return state
  }

  get shieldNodes(): string[] {
    return this.options.shields ?? []
  }

  /**
   * Starts draining queues left by an earlier run (a restart keeps them: they live in Redis), and looks again
   * every second: a queue whose drainer died is drained here once its lease runs out.
   */
  async start(): Promise<void> {
    await this.sweep()
    this.sweeper = setInterval(() => void this.sweep().catch((err) => this.options.log.warn({ err }, 'could not look for purge queues to drain')), SWEEP_MS)
    this.sweeper.unref()
  }

  private async sweep(): Promise<void> {
    const nodes = await this.refreshNodes()
    for (const node of [...this.shieldNodes, ...nodes]) {
      if (this.closed) return
      const state = this.retryState(node)
      if (!state.timer && !state.draining && (await this.options.redis.llen(queueKey(node))) > 0) this.scheduleRetry(node, 0)
    }
  }

  async purge(target: PurgeTarget, mode: PurgeMode, meta: { who: string; source: 'api' | 'event' }): Promise<PurgeRecord> {
    const at = new Date()
    const nodes = await this.coalesced(target, mode)
    const record: PurgeRecord = {
      id: randomUUID(),
      at: at.toISOString(),
      who: meta.who,
      source: meta.source,
      mode,
      keys: target.keys,
      urls: target.urls,
      complete: nodes.every((n) => n.ok),
      ackedAt: new Date().toISOString(),
      nodes,
    }
    await this.options.redis.multi().lpush(AUDIT_KEY, JSON.stringify(record)).ltrim(AUDIT_KEY, 0, AUDIT_LENGTH - 1).exec()
    const failed = nodes.filter((n) => !n.ok)
    if (failed.length) this.options.log.warn({ code: 'TESSERA_PURGE_QUEUED', purge: record.id, nodes: failed }, 'purge queued for lagging edge nodes')
    return record
  }

  async audit(limit: number): Promise<PurgeRecord[]> {
    const rows = await this.options.redis.lrange(AUDIT_KEY, 0, limit - 1)
    return rows.map((r) => JSON.parse(r) as PurgeRecord)
  }

  async lag(): Promise<NodeLag[]> {
    const nodes = await this.refreshNodes()
    const tiers = [...this.shieldNodes.map((node) => ({ node, tier: 'shield' as const })), ...nodes.map((node) => ({ node, tier: 'edge' as const }))]
    return Promise.all(
      tiers.map(async ({ node, tier }) => {
        const [pending, oldest] = await Promise.all([this.options.redis.llen(queueKey(node)), this.options.redis.lindex(queueKey(node), 0)])
        const oldestAt = oldest ? (JSON.parse(oldest) as QueuedPurge).at : undefined
        return {
          node,
          tier,
          pending,
          ...(oldestAt ? { oldestQueuedAt: new Date(oldestAt).toISOString() } : {}),
          lagMs: oldestAt ? Date.now() - oldestAt : 0,
          ...(this.retry.get(node)?.lastError ? { lastError: this.retry.get(node)?.lastError } : {}),
        }
      }),
    )
  }

  observe(observer: SendObserver): void {
    this.observers.push(observer)
  }

  private told(node: string, target: PurgeTarget, outcome: SendOutcome): void {
    for (const observer of this.observers) {
      try {
        observer(node, target, outcome)
      } catch (err) {
        this.options.log.warn({ err }, 'purge observer failed')
      }
    }
  }

  client(node: string): EdgeClient {
    const shield = this.shieldClients.find((c) => c.node === node)
    if (shield) return shield
    if (!this.liveNodes.includes(node)) throw new Error(`no edge node ${node}`)
    let client = this.clients.get(node)
    if (!client) this.clients.set(node, (client = new EdgeClient(node, this.options.secret, this.options.timeoutMs)))
    return client
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.sweeper)
    for (const state of this.retry.values()) clearTimeout(state.timer)
    if (this.pending) {
      clearTimeout(this.pending.timer)
      this.fire()
    }
    await Promise.all([...this.shieldClients, ...this.clients.values()].map((c) => c.close()))
  }

  /**
   * Bursts: a key purged less than coalesceMs ago waits for the window's end, together with everything
   * else that arrives meanwhile (one purge per key per window). A lone change goes out at once.
   */
  private coalesced(target: PurgeTarget, mode: PurgeMode): Promise<NodeResult[]> {
    const now = Date.now()
    // a loop, not Math.max(...keys): a batch of imported changes carries tens of thousands of keys (stack size)
    let fireAt = now
    for (const k of target.keys) fireAt = Math.max(fireAt, (this.lastSent.get(`${mode}:${k}`) ?? 0) + this.options.coalesceMs)
    if (fireAt <= now && !this.pending) return this.send(target, mode)
    if (this.pending && this.pending.mode === mode) {
      const p = this.pending
      p.target = { keys: [...new Set([...p.target.keys, ...target.keys])], urls: [...new Set([...p.target.urls, ...target.urls])] }
      if (fireAt > p.fireAt) {
        clearTimeout(p.timer)
        p.fireAt = fireAt
        p.timer = setTimeout(() => this.fire(), fireAt - now)
      }
      return p.done
    }
    if (this.pending) return this.pending.done.then(() => this.coalesced(target, mode))
    let resolve!: (r: NodeResult[]) => void
    let reject!: (e: unknown) => void
    const done = new Promise<NodeResult[]>((res, rej) => {
      resolve = res
      reject = rej
    })
    this.pending = { target, mode, fireAt, timer: setTimeout(() => this.fire(), fireAt - now), done, resolve, reject }
    return done
  }

  private fire(): void {
    const p = this.pending
    if (!p) return
    this.pending = undefined
    this.send(p.target, p.mode).then(p.resolve, p.reject)
  }

  private async send(target: PurgeTarget, mode: PurgeMode): Promise<NodeResult[]> {
    const sentAt = Date.now()
    for (const key of target.keys) this.lastSent.set(`${mode}:${key}`, sentAt)
    this.forgetOldSends(sentAt)
    // Marks first: a render that read before this change and checks after this line will read again.
    await markPurged(this.options.redis, target.keys, sentAt)
    // Ordered: every shield first, the edges once each shield acknowledged (or failed and has it queued), so an
    // edge that refetches finds no pre-purge copy at its shield. An edge also refuses a shield's copy vouched for
    // as of before its own latest purge (varnish/shield.vcl): a shield that was down serves edges nothing old.
    const shields = await Promise.all(this.shieldClients.map((client) => this.sendTo(client, 'shield', target, mode, sentAt)))
    const nodes = await this.refreshNodes()
    const edges = await Promise.all(nodes.map((node) => this.sendTo(this.client(node), 'edge', target, mode, sentAt)))
    return [...shields, ...edges]
  }

  private async sendTo(client: EdgeClient, tier: NodeResult['tier'], target: PurgeTarget, mode: PurgeMode, sentAt: number): Promise<NodeResult> {
    const queued: QueuedPurge = { id: randomUUID(), ...target, mode, at: sentAt }
    // A lagging node gets purges in order, from its queue.
    if ((await this.options.redis.llen(queueKey(client.node))) > 0) {
      if (!(await this.enqueue(client.node, queued, tier))) return this.leftDuringSend(client.node, tier)
      this.told(client.node, target, 'queued')
      return { node: client.node, tier, ok: false, queued: true, error: { code: 'TESSERA_EDGE_LAGGING', message: `${tier} node ${client.node} is catching up on earlier purges; this one is queued behind them` } }
    }
    try {
      const first: NodeAck = await client.purge(target, mode, sentAt)
      // Once more before the acknowledgement: a fill that checked for purges just before this one began can
      // enter the cache (and xkey's index) only after the first pass looked, and readers would hit it. By the
      // second pass it is indexed; anything checking later sees this purge and is not kept.
      // (Its count is not added: objects the first pass removed can still be in xkey's index, counted again.)
      const again: NodeAck = await client.purge(target, mode, sentAt)
      this.told(client.node, target, 'ok')
      return { node: client.node, tier, ok: true, status: first.status, purged: first.purged, ms: first.ms + again.ms }
    } catch (err) {
      if (!(await this.enqueue(client.node, queued, tier))) return this.leftDuringSend(client.node, tier)
      this.told(client.node, target, 'failed')
      const e = err as { code?: string; message?: string }
      return { node: client.node, tier, ok: false, queued: true, error: { code: e.code ?? 'TESSERA_EDGE_ERROR', message: e.message ?? String(err) } }
    }
  }

  private forgetOldSends(now: number): void {
    if (this.lastSent.size < 10_000) return
    for (const [key, at] of this.lastSent) if (now - at > this.options.coalesceMs) this.lastSent.delete(key)
  }

  /** A node removed from the live set while this purge was on its way: nothing is owed to it. */
  private leftDuringSend(node: string, tier: NodeResult['tier']): NodeResult {
    return { node, tier, ok: true, status: 410, purged: 0, error: { code: 'TESSERA_EDGE_REMOVED', message: `${node} left the edge set while this purge was sent; nothing is queued for it` } }
  }

  /** false: the node is no longer in the live set (nothing was queued). */
  private async enqueue(node: string, purge: QueuedPurge, tier: NodeResult['tier']): Promise<boolean> {
    const row = JSON.stringify(purge)
    if (tier === 'edge' && this.options.edgeSet) {
      if (Number(await this.options.redis.eval(ENQUEUE_IF_LIVE, 2, queueKey(node), LIVE_URLS_KEY, node, row)) < 0) return false
    } else {
      await this.options.redis.rpush(queueKey(node), row)
    }
    this.scheduleRetry(node)
    // The queue stands in for the node's acknowledgement: it must survive a failover (when so configured).
    await confirmReplicated(this.options.redis, `the purge ${purge.id} queued for ${node}`)
    return true
  }

  private get instanceName(): string {
    return this.options.instanceName ?? `pid-${process.pid}`
  }

  /** Takes or renews this instance's lease on a node's queue; false while another instance holds it. */
  private async holdLease(node: string): Promise<boolean> {
    return Number(await this.options.redis.eval(HOLD_LEASE, 1, queueLeaseKeyOf(node), this.instanceName, this.options.queueLeaseMs ?? 5000)) === 1
  }

  private scheduleRetry(node: string, delay?: number): void {
    const state = this.retryState(node)
    if (this.closed || state.timer || state.draining) return
    state.timer = setTimeout(() => {
      state.timer = undefined
      void this.drain(node)
    }, delay ?? state.backoff)
  }

  /**
   * Sends a node's queued purges in order, while this instance holds the node's lease (renewed before each
   * send, so it outlasts a send by TESSERA_PURGE_LEASE_MS); stops at the first failure and backs off. A queue
   * another instance drains is left to it: the sweep comes back when its lease runs out.
   */
  private async drain(node: string): Promise<void> {
    const state = this.retryState(node)
    state.draining = true
    let leased = false
    try {
      for (;;) {
        if (this.closed) return
        if (!this.shieldNodes.includes(node) && !this.liveNodes.includes(node)) return
        if (!(leased = await this.holdLease(node))) return
        const head = await this.options.redis.lindex(queueKey(node), 0)
        if (!head) break
        const purge = JSON.parse(head) as QueuedPurge
        try {
          const ack = await this.client(node).purge(purge, purge.mode, purge.at)
          // Not ours any more (the node left, or the lease ran out and another instance sent it too): stop.
          if (Number(await this.options.redis.eval(POP_IF_HEAD, 1, queueKey(node), head)) !== 1) return
          this.told(node, purge, 'ok')
          this.options.log.info({ node, purge: purge.id, purged: ack.purged, lagMs: Date.now() - purge.at }, 'queued purge delivered')
        } catch (err) {
          this.told(node, purge, 'failed')
          state.lastError = (err as Error).message
          state.backoff = Math.min(state.backoff * 2, MAX_BACKOFF_MS)
          this.options.log.warn({ node, code: (err as { code?: string }).code, backoffMs: state.backoff }, 'edge node still lagging')
          return
        }
      }
      state.backoff = MIN_BACKOFF_MS
      state.lastError = undefined
      this.options.log.info({ node }, 'edge node caught up')
    } catch (err) {
      state.lastError = (err as Error).message
      this.options.log.error({ err, node }, 'purge queue unreadable')
    } finally {
      state.draining = false
      if (leased) await this.options.redis.eval(RELEASE_LEASE, 1, queueLeaseKeyOf(node), this.instanceName).catch(() => {})
      if (leased && !this.closed && this.retry.has(node) && (await this.options.redis.llen(queueKey(node)).catch(() => 1)) > 0) this.scheduleRetry(node)
    }
  }
}
