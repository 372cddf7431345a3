// The live edge set: the edge nodes every purge goes to, kept in Redis so that every purge-service instance
// sends to the same nodes. The topology's edges (TESSERA_TOPOLOGY, else TESSERA_EDGE_*) are the initial set;
// PUT and DELETE /edges/:name change it while it serves. Each node's durable queue (purges it has not taken
// yet, in order) and the lease on draining it live here too: a node's queue is created and deleted with it.
import type { Redis } from 'ioredis'
import type { TopologyEdge } from './topology.js'

/** lagging is not stored: a node in any live state is lagging while its durable queue is not empty. */
export type EdgeState = 'joining' | 'warming' | 'ready' | 'removed'

export interface WarmReport {
  /** How many most-read URLs were asked for ("warm": N) and how many the stats had. */
  requested: number
  urls: number
  fetched: number
  failed: number
  lastError?: string
  finishedAt?: string
}

export interface EdgeEntry extends TopologyEdge {
  state: EdgeState
  /** When it entered the set, and when it entered its current state. */
  joinedAt: string
  since: string
  /** topology: from the initial set; api: PUT /edges/:name. */
  origin: 'topology' | 'api'
  warm?: WarmReport
  /** Why the warm-up stopped short, when it did. */
  error?: string
}

export interface EdgeAuditEntry {
  at: string
  who: string
  what: 'join' | 'leave' | 'topology-reload'
  edge?: string
  url?: string
  detail?: Record<string, unknown>
}

const EDGES_KEY = 'tessera:edges'
/** The live nodes' URLs: what a purge is sent to, and the guard that keeps a removed node's queue from coming back. */
export const LIVE_URLS_KEY = 'tessera:edges:live-urls'
const EDGE_AUDIT_KEY = 'tessera:edge-audit'
const AUDIT_LENGTH = 1000

/** A node's durable queue (by its URL, the purger's name for it). */
export const queueKeyOf = (node: string) => `tessera:purge-queue:${node}`
/** Who drains that queue now (one purge-service instance at a time), with an expiry. */
export const queueLeaseKeyOf = (node: string) => `tessera:purge-queue-lease:${node}`

// Names not in the hash yet are added (a removed node stays removed across restarts).
const SEED = `
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then redis.call('SADD', KEYS[2], ARGV[i + 2]) end
end
return 1`

export class EdgeSet {
  constructor(private readonly redis: Redis) {}

  /** Adds the topology's edges that the set has never had, as ready. */
  async seed(edges: TopologyEdge[], now = new Date()): Promise<void> {
    if (edges.length === 0) return
    const at = now.toISOString()
    const args = edges.flatMap((edge) => [edge.name, JSON.stringify({ ...edge, state: 'ready', joinedAt: at, since: at, origin: 'topology' } satisfies EdgeEntry), edge.url])
    await this.redis.eval(SEED, 2, EDGES_KEY, LIVE_URLS_KEY, ...args)
  }

  /** Every node the set has had, removed ones included, in the order they joined. */
  async all(): Promise<EdgeEntry[]> {
    const rows = Object.values(await this.redis.hgetall(EDGES_KEY)).map((row) => JSON.parse(row) as EdgeEntry)
    return rows.sort((a, b) => a.joinedAt.localeCompare(b.joinedAt) || a.name.localeCompare(b.name))
  }

  async live(): Promise<EdgeEntry[]> {
    return (await this.all()).filter((e) => e.state !== 'removed')
  }

  /** The URLs a purge goes to now: one set read per send. */
  async liveUrls(): Promise<string[]> {
    return (await this.redis.smembers(LIVE_URLS_KEY)).sort()
  }

  /**
   * The edges a topology reload goes to: the live set, and the file's edges the set has never had (they join it
   * at the purge service's next start). A node removed stays out even while the file still lists it.
   */
  async reloadTargets(fileEdges: TopologyEdge[]): Promise<TopologyEdge[]> {
    const all = await this.all()
    return [...all.filter((e) => e.state !== 'removed'), ...fileEdges.filter((f) => !all.some((e) => e.name === f.name))]
  }

    async get(name: string): Promise<EdgeEntry | undefined> {
    const row = await this.redis.hget(EDGES_KEY, name)
    return row ? (JSON.parse(row) as EdgeEntry) : undefined
  }

  /**
   * Shows a node as joining while its VCL loads: in GET /edges, and holding its name, but not yet purged.
   * Returns how to take that back (the entry it replaced, if any, is put back) when the join fails.
   */
  async propose(edge: TopologyEdge, now = new Date()): Promise<() => Promise<void>> {
    const at = now.toISOString()
    const before = await this.redis.hget(EDGES_KEY, edge.name)
    const entry: EdgeEntry = { ...edge, state: 'joining', joinedAt: at, since: at, origin: 'api' }
    await this.redis.hset(EDGES_KEY, edge.name, JSON.stringify(entry))
    return async () => {
      if ((await this.get(edge.name))?.state !== 'joining') return
      if (before) await this.redis.hset(EDGES_KEY, edge.name, before)
      else await this.redis.hdel(EDGES_KEY, edge.name)
    }
  }

  /**
   * Puts a node in the set (state `state`): from this call's answer on, every purge goes to it, and one it does
   * not take waits in its queue. A queue left from an earlier membership is dropped: its purges are older than
   * anything the node can hold now.
   */
  async join(edge: TopologyEdge, state: EdgeState, now = new Date()): Promise<EdgeEntry> {
    const at = now.toISOString()
    const entry: EdgeEntry = { ...edge, state, joinedAt: at, since: at, origin: 'api' }
    await this.redis.multi().del(queueKeyOf(edge.url), queueLeaseKeyOf(edge.url)).hset(EDGES_KEY, edge.name, JSON.stringify(entry)).sadd(LIVE_URLS_KEY, edge.url).exec()
    return entry
  }

  /** Moves a live node on to `state` (with what it learnt on the way); a node removed meanwhile stays removed. */
  async update(name: string, patch: Partial<Pick<EdgeEntry, 'state' | 'warm' | 'error'>>): Promise<EdgeEntry | undefined> {
    const current = await this.get(name)
    if (!current || current.state === 'removed') return current
    const next: EdgeEntry = { ...current, ...patch, ...(patch.state && patch.state !== current.state ? { since: new Date().toISOString() } : {}) }
    await this.redis.hset(EDGES_KEY, name, JSON.stringify(next))
    return next
  }

  /** Takes a node out: no purge is sent to it any more, its queue (and what was in it) and its lease are deleted. */
  async remove(name: string, now = new Date()): Promise<{ entry: EdgeEntry; droppedPurges: number } | undefined> {
    const current = await this.get(name)
    if (!current || current.state === 'removed') return undefined
    const entry: EdgeEntry = { ...current, state: 'removed', since: now.toISOString() }
    const replies = await this.redis
      .multi()
      .srem(LIVE_URLS_KEY, current.url)
      .llen(queueKeyOf(current.url))
      .del(queueKeyOf(current.url), queueLeaseKeyOf(current.url))
      .hset(EDGES_KEY, name, JSON.stringify(entry))
      .exec()
    return { entry, droppedPurges: Number(replies?.[1]?.[1] ?? 0) }
  }

  async audit(entry: Omit<EdgeAuditEntry, 'at'>): Promise<void> {
    await this.redis.multi().lpush(EDGE_AUDIT_KEY, JSON.stringify({ at: new Date().toISOString(), ...entry })).ltrim(EDGE_AUDIT_KEY, 0, AUDIT_LENGTH - 1).exec()
  }

  async auditLog(limit: number): Promise<EdgeAuditEntry[]> {
    return (await this.redis.lrange(EDGE_AUDIT_KEY, 0, limit - 1)).map((row) => JSON.parse(row) as EdgeAuditEntry)
  }
}
