// What one edge node's cache does, per fragment and per page type, from its own records: varnish/stats.vcl
// logs one `tessera-stats` record per delivery (hit, grace, miss, pass) and per origin fetch, each with its
// status (and a fetch with its time); edge-log-reader.ts reads them with `varnishlog -g raw -i VCL_Log`; this
// tallies them since the reader started (totals) and over a sliding window. Purges received are counted from
// this service's own acknowledged purges.
import { FRAGMENT_NAMES } from '../platform/config.js'

export type Group = 'fragment' | 'page' | 'fallback'
export type Delivery = 'hit' | 'grace' | 'miss' | 'pass'

/** One request or origin fetch, as varnish/stats.vcl tagged it. */
export interface TrafficRecord {
  group: Group
  /** Fragment name, or page type: home, article, section, hub, notFound (a page answered 404), other. */
  name: string
  what: Delivery | 'fetch' | 'bgfetch'
  status: number
  /** Origin fetches: time to the origin's response headers. */
  ms?: number
}

const DELIVERIES: readonly string[] = ['hit', 'grace', 'miss', 'pass']
const FETCHES: readonly string[] = ['fetch', 'bgfetch']

/**
 * One line of `varnishlog -g raw -i VCL_Log`: "<vxid> VCL_Log <c|b> tessera-stats: <group> <name> <what>
 * <status>[ <ms>]"; undefined for anything else (another VCL_Log record, a malformed line).
 */
export function parseRecord(line: string): TrafficRecord | undefined {
  const prefix = /^\s*\d+\s+VCL_Log\s+/.exec(line)
  return prefix ? parseRecordAfterTag(line.slice(prefix[0].length)) : undefined
}

/** The same line from its side letter on (without "<vxid> VCL_Log "): "<c|b> tessera-stats: ...". */
export function parseRecordAfterTag(sideAndRecord: string): TrafficRecord | undefined {
  const m = /^([cb])\s+tessera-stats: (fragment|page|fallback) ([a-z]+) ([a-z]+) (\d{3})(?: (\d+(?:\.\d+)?))?\s*$/.exec(sideAndRecord)
  if (!m) return undefined
  const [, side, group, tagged, what, rawStatus, rawMs] = m as unknown as [string, 'c' | 'b', Group, string, string, string, string | undefined]
  if (!(side === 'c' ? DELIVERIES : FETCHES).includes(what)) return undefined
  const status = Number(rawStatus)
  // The tag names what the URL asks for; a page that does not exist is counted as such.
  const name = group === 'page' && status === 404 ? 'notFound' : tagged
  return { group, name, what: what as TrafficRecord['what'], status, ...(side === 'b' && rawMs !== undefined ? { ms: Number(rawMs) } : {}) }
}

/** The kind of object a site URL names, as varnish/stats.vcl tags it (used for purges by key or URL). */
export function kindOfUrl(url: string): { group: Group; name: string } {
  const path = url.split('?')[0] ?? url
  const fragment = /^\/fragments\/([a-z]+)(\/_fallback)?/.exec(path)
  if (fragment) return { group: fragment[2] ? 'fallback' : 'fragment', name: fragment[1]! }
  if (path === '/') return { group: 'page', name: 'home' }
  if (path.startsWith('/articles/')) return { group: 'page', name: 'article' }
  if (path.startsWith('/sections/')) return { group: 'page', name: 'section' }
  if (path.startsWith('/hubs/')) return { group: 'page', name: 'hub' }
  return { group: 'page', name: 'other' }
}

interface Counts {
  hits: number
  graceHits: number
  misses: number
  passes: number
  originFetches: number
  originErrors: number
  purgesReceived: number
}

const zero = (): Counts => ({ hits: 0, graceHits: 0, misses: 0, passes: 0, originFetches: 0, originErrors: 0, purgesReceived: 0 })
const FIELD: Record<Delivery, keyof Counts> = { hit: 'hits', grace: 'graceHits', miss: 'misses', pass: 'passes' }

export interface KindStats {
  hits: number
  misses: number
  graceHits: number
  /** hit-for-miss: the object was recently uncacheable. */
  passes: number
  /** (hits + graceHits) / every delivery; null before the first one. */
  hitRatio: number | null
  /** Origin fetches, background refreshes included. */
  originFetches: number
  /** Origin fetches answered 5xx or not at all. */
  originErrors: number
  /** Median time to the origin's response headers, over the last FETCH_SAMPLES fetches (window: within it). */
  originFetchMsP50: number | null
  /** Purges this service sent to the node (acknowledged) that could touch an object of this kind. */
  purgesReceived: number
}

export interface EdgeTraffic {
  fragments: Record<string, KindStats & { window: KindStats }>
  pages: Record<string, KindStats & { window: KindStats }>
  fallbacks: Record<string, KindStats & { window: KindStats }>
}

const FETCH_SAMPLES = 1000
const PAGE_TYPES = ['home', 'article', 'section', 'hub', 'notFound']

/** Tallies of one edge node: totals since `since`, and per-second buckets for the sliding window. */
export class EdgeStats {
  readonly since = new Date()
  private readonly totals = new Map<string, Counts>()
  private readonly buckets = new Map<number, Map<string, Counts>>()
  private readonly fetchTimes = new Map<string, Array<{ at: number; ms: number }>>()

  constructor(
    readonly windowSeconds = 300,
    private readonly now: () => number = Date.now,
  ) {}

  /** `count` identical records at once (the log reader counts a chunk's identical deliveries). */
  add(record: TrafficRecord, count = 1): void {
    const kind = `${record.group}:${record.name}`
    if (record.what === 'fetch' || record.what === 'bgfetch') {
      this.count(kind, 'originFetches', count)
      if (record.status >= 500) this.count(kind, 'originErrors', count)
      if (record.ms !== undefined) {
        const samples = this.fetchTimes.get(kind) ?? []
        const at = this.now()
        for (let i = 0; i < count; i++) samples.push({ at, ms: record.ms })
        while (samples.length > FETCH_SAMPLES) samples.shift()
        this.fetchTimes.set(kind, samples)
      }
    } else {
      this.count(kind, FIELD[record.what], count)
    }
  }

  addPurge(group: Group, name: string): void {
    this.count(`${group}:${name}`, 'purgesReceived', 1)
  }

  snapshot(): EdgeTraffic {
    const since = this.now() - this.windowSeconds * 1000
    const window = new Map<string, Counts>()
    for (const [second, counts] of this.buckets) {
      if (second * 1000 < since) continue
      for (const [kind, c] of counts) {
        const sum = window.get(kind) ?? zero()
        for (const field of Object.keys(sum) as Array<keyof Counts>) sum[field] += c[field]
        window.set(kind, sum)
      }
    }
    const kinds = new Set([...FRAGMENT_NAMES.map((n) => `fragment:${n}`), ...PAGE_TYPES.map((n) => `page:${n}`), ...this.totals.keys()])
    const out: EdgeTraffic = { fragments: {}, pages: {}, fallbacks: {} }
    for (const kind of [...kinds].sort()) {
      const [group, name] = kind.split(':') as [Group, string]
      const samples = this.fetchTimes.get(kind) ?? []
      const entry = {
        ...stats(this.totals.get(kind) ?? zero(), samples.map((s) => s.ms)),
        window: stats(window.get(kind) ?? zero(), samples.filter((s) => s.at >= since).map((s) => s.ms)),
      }
      const target = group === 'fragment' ? out.fragments : group === 'page' ? out.pages : out.fallbacks
      target[name] = entry
    }
    return out
  }

  private count(kind: string, field: keyof Counts, n: number): void {
    const total = this.totals.get(kind) ?? zero()
    total[field] += n
    this.totals.set(kind, total)
    const second = Math.floor(this.now() / 1000)
    let bucket = this.buckets.get(second)
    if (!bucket) {
      bucket = new Map()
      this.buckets.set(second, bucket)
      for (const old of this.buckets.keys()) if (old < second - this.windowSeconds) this.buckets.delete(old)
    }
    const c = bucket.get(kind) ?? zero()
    c[field] += n
    bucket.set(kind, c)
  }
}

function stats(c: Counts, fetchMs: number[]): KindStats {
  const served = c.hits + c.graceHits + c.misses + c.passes
  return {
    hits: c.hits,
    misses: c.misses,
    graceHits: c.graceHits,
    passes: c.passes,
    hitRatio: served === 0 ? null : round((c.hits + c.graceHits) / served, 4),
    originFetches: c.originFetches,
    originErrors: c.originErrors,
    originFetchMsP50: median(fetchMs),
    purgesReceived: c.purgesReceived,
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return round(sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2, 3)
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits
