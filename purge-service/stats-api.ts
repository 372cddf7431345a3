// Seeing the cache (ops): GET /stats says, per edge node, per fragment and per page type, how the cache is
// doing (hits, misses, grace hits, hit ratio, origin fetch time, purges received) plus varnishd's own
// counters; the same figures, and the purge path's, are Prometheus metrics on GET /metrics.
//
// Where each figure comes from:
// - deliveries and origin fetches: the node's own log (varnish/stats.vcl tags each one; varnishlog reads it
//   through the node's work dir, TESSERA_EDGE_WORKDIRS). A node without a work dir (another machine) has
//   none of these: varnishd's admin CLI has no counters to offer, so only purges received are known there.
// - purges received: this service's own acknowledged purges, each joined with the kinds of object it can
//   touch: `fragment:<name>` and `layout:<name>` keys name them; any other key is looked up in the key -> URL
//   index that origins write when they render. Exact for what was sent; a purge counts once per kind it
//   could touch, whether or not that kind had an object cached at the time.
// - counters: `varnishstat -n <work dir> -j`, read on each request (objects in cache, requests per backend).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Counter, Histogram, type Registry } from 'prom-client'
import { Forbidden } from '../platform/errors.js'
import { urlsAffectedBy } from '../cache/key-index.js'
import { metricsOf } from '../platform/metrics.js'
import { requireBearer } from '../platform/service.js'
import type { PurgeApiDeps } from './app.js'
import { EdgeLogReader, readCounters, type RecordSink } from '../edge-stats/edge-log-reader.js'
import { EdgeStats, type Group, kindOfUrl, type TrafficRecord } from '../edge-stats/edge-stats.js'
import { addPurgeMetrics } from './purge-metrics.js'
import type { PurgeTarget } from './purger.js'

export type StatsDeps = Pick<PurgeApiDeps, 'redis' | 'purger' | 'editorToken' | 'opsToken' | 'edgeWorkDirs' | 'shieldWorkDirs'>

const LAYOUT_PAGES: Record<string, string> = { home: 'home', article: 'article', section: 'section', hub: 'hub' }

export function registerStatsRoutes(app: FastifyInstance, deps: StatsDeps): void {
  const registry = metricsOf(app)
  const { purger } = deps
  addPurgeMetrics(registry, purger)

  const trafficMetrics = edgeTrafficMetrics(registry)
  const purgesReceived = new Counter({
    name: 'tessera_edge_purges_received_total',
    help: 'Acknowledged purges sent to each edge node that could touch objects of this fragment or page type',
    labelNames: ['node', 'group', 'name'] as const,
    registers: [registry],
  })

  const watch = (node: string, workDir: string | undefined) => {
    const stats = new EdgeStats()
    const reader = workDir ? new EdgeLogReader(workDir, tallyRecords(node, stats, trafficMetrics), app.log) : undefined
    return { node, workDir, stats, reader }
  }
  const edges = purger.nodes.map((node, i) => watch(node, deps.edgeWorkDirs?.[i]))
  // The shield tier (varnish/shield.vcl) logs the same records: its deliveries are the edges' fetches, its
  // fetches are the origin fetches.
  const shields = purger.shieldNodes.map((node, i) => watch(node, deps.shieldWorkDirs?.[i]))
  const all = [...edges, ...shields]
  let ready = false
  app.addHook('onReady', async () => {
    ready = true
    for (const e of all) e.reader?.start()
  })
  app.addHook('onClose', async () => {
    ready = false
    await Promise.all(all.map((e) => e.reader?.stop()))
  })
  // The live edge set (PUT/DELETE /edges, from any instance): a node that joined is watched from the next
  // look on (its figures start then), one that left is no longer reported.
  const followEdgeSet = async () => {
    if (!purger.edgeSet || !ready) return
    const live = (await purger.edgeSet.live()).map((e) => ({ node: e.url, workDir: e.workdir }))
    for (const { node, workDir } of live) {
      if (edges.some((e) => e.node === node)) continue
      const watcher = watch(node, workDir)
      edges.push(watcher)
      all.push(watcher)
      watcher.reader?.start()
    }
    for (const gone of edges.filter((e) => !live.some((l) => l.node === e.node))) {
      edges.splice(edges.indexOf(gone), 1)
      all.splice(all.indexOf(gone), 1)
      await gone.reader?.stop()
    }
  }
  const following = setInterval(() => void followEdgeSet().catch((err) => app.log.warn({ err }, 'could not read the live edge set for /stats')), 5000)
  following.unref()
  app.addHook('onClose', async () => clearInterval(following))

  // Purges received: what each purge can touch is worked out once per purge, off the purge path;
  // GET /stats waits for the ones still being worked out.
  const kindsOf = new WeakMap<PurgeTarget, Promise<Array<{ group: Group; name: string }>>>()
  const attributing = new Set<Promise<unknown>>()
  purger.observe((node, target, outcome) => {
    if (outcome !== 'ok') return
    const edge = all.find((e) => e.node === node)
    if (!edge) return
    let kinds = kindsOf.get(target)
    if (!kinds) {
      kinds = kindsTouched(deps, target)
      kindsOf.set(target, kinds)
    }
    const done = kinds
      .then((list) => {
        for (const { group, name } of list) {
          edge.stats.addPurge(group, name)
          purgesReceived.inc({ node, group, name })
        }
      })
      .catch((err) => app.log.warn({ err, node }, 'could not attribute a purge to fragments (key index unreadable)'))
      .finally(() => attributing.delete(done))
    attributing.add(done)
  })

  const nodeStats = async ({ node, workDir, stats, reader }: (typeof all)[number]) => {
    const traffic = stats.snapshot()
    if (!workDir || !reader) {
      return {
        node,
        source: { log: null, counters: null, note: 'no work dir for this node (TESSERA_EDGE_WORKDIRS, TESSERA_SHIELD_WORKDIRS): hits, misses and counters need varnishlog and varnishstat on its machine; only purges received are known here' },
        since: stats.since.toISOString(),
        ...onlyPurges(traffic),
      }
    }
    const counters = await readCounters(workDir).catch((err: Error) => ({ error: `varnishstat -n ${workDir}: ${err.message.split('\n')[0]}` }))
    return {
      node,
      source: { workDir, log: reader.running ? 'varnishlog' : 'varnishlog (not running; restarting)', counters: 'varnishstat' },
      since: stats.since.toISOString(),
      ...traffic,
      counters,
    }
  }

  app.get('/stats', async (request) => {
    requireOps(request, deps)
    await Promise.all(attributing)
    await followEdgeSet()
    const shieldNodes = await Promise.all(shields.map(nodeStats))
    return {
      windowSeconds: edges[0]?.stats.windowSeconds ?? 300,
      edges: await Promise.all(edges.map(nodeStats)),
      ...(shields.length ? { shield: { tier: tierSummary(shields.map((s) => s.stats.snapshot())), nodes: shieldNodes } } : {}),
    }
  })
}

/**
 * A tier's figures over all its nodes, fragments and pages together: deliveries (hits, grace hits, misses, passes),
 * its hit ratio, and the fetches it made (for the shield tier: every origin fetch but the edges' bypasses).
 */
export function tierSummary(snapshots: Array<ReturnType<EdgeStats['snapshot']>>) {
  const sum = { hits: 0, graceHits: 0, misses: 0, passes: 0, originFetches: 0, originErrors: 0 }
  for (const snapshot of snapshots) {
    for (const group of [snapshot.fragments, snapshot.pages]) {
      for (const kind of Object.values(group)) {
        for (const field of Object.keys(sum) as Array<keyof typeof sum>) sum[field] += kind[field]
      }
    }
  }
  const served = sum.hits + sum.graceHits + sum.misses + sum.passes
  return { ...sum, hitRatio: served === 0 ? null : Math.round(((sum.hits + sum.graceHits) / served) * 10_000) / 10_000 }
}

export type EdgeTrafficMetrics = ReturnType<typeof edgeTrafficMetrics>

/** Deliveries and origin fetches at the edge nodes, as Prometheus metrics in `registry`. */
export function edgeTrafficMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'tessera_edge_requests_total',
      help: 'Deliveries at each edge node (ESI includes each count), by fragment or page type and cache result',
      labelNames: ['node', 'group', 'name', 'cache'] as const,
      registers: [registry],
    }),
    fetchTime: new Histogram({
      name: 'tessera_edge_origin_fetch_seconds',
      help: 'Origin fetches by each edge node (background refreshes included): time to the response headers',
      labelNames: ['node', 'group', 'name'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  }
}

/** Where one node's records go: its EdgeStats and the metrics, `count` identical records at once. */
export function tallyRecords(node: string, stats: EdgeStats, metrics: EdgeTrafficMetrics): RecordSink {
  return (r: TrafficRecord, count: number) => {
    stats.add(r, count)
    if (r.what === 'fetch' || r.what === 'bgfetch') {
      if (r.ms === undefined) return
      for (let i = 0; i < count; i++) metrics.fetchTime.observe({ node, group: r.group, name: r.name }, r.ms / 1000)
    } else {
      metrics.requests.inc({ node, group: r.group, name: r.name, cache: r.what }, count)
    }
  }
}

/** Ops only (TESSERA_OPS_TOKEN), the rule of the other ops routes (/policies): an editor's token gets 403. */
function requireOps(request: FastifyRequest, deps: Pick<StatsDeps, 'editorToken' | 'opsToken'>): void {
  const token = requireBearer(request, [deps.opsToken, deps.editorToken], 'the ops API')
  if (token !== deps.opsToken) {
    throw new Forbidden(`GET /stats is for ops: send TESSERA_OPS_TOKEN, not the editor token${deps.opsToken ? '' : ' (TESSERA_OPS_TOKEN is not set on this purge service)'}`)
  }
}

/** The fragments and page types a purge can touch (see the header comment). */
async function kindsTouched(deps: Pick<StatsDeps, 'redis'>, target: PurgeTarget): Promise<Array<{ group: Group; name: string }>> {
  const kinds = new Map<string, { group: Group; name: string }>()
  const add = (group: Group, name: string) => kinds.set(`${group}:${name}`, { group, name })
  const indexed: string[] = []
  for (const key of target.keys) {
    const [prefix, rest = ''] = key.split(/:(.*)/s)
    if (prefix === 'fragment' && rest) add('fragment', rest)
    else if (prefix === 'layout' && LAYOUT_PAGES[rest]) add('page', LAYOUT_PAGES[rest]!)
    else indexed.push(key)
  }
  for (const url of await urlsAffectedBy(deps.redis, indexed, target.urls)) {
    const { group, name } = kindOfUrl(url)
    add(group, name)
  }
  return [...kinds.values()]
}

/** A node we cannot read: the same shape with purges received only. */
function onlyPurges(traffic: ReturnType<EdgeStats['snapshot']>) {
  const keep = (group: Record<string, { purgesReceived: number }>) =>
    Object.fromEntries(Object.entries(group).map(([name, s]) => [name, { purgesReceived: s.purgesReceived }]))
  return { fragments: keep(traffic.fragments), pages: keep(traffic.pages), fallbacks: keep(traffic.fallbacks) }
}
