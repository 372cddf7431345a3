// The edge nodes as ops see and change them: GET /edges (each node's state, queue, admin CLI and backends),
// PUT /edges/:name (a node joins: the current site VCL is loaded on it, it is put in the live edge set, so it
// gets every purge from the answer on, then it is warmed with the most-read pages through its own front),
// DELETE /edges/:name (it leaves: no more purges, its durable queue deleted), GET /edges/audit, and
// POST /topology/reload (what `npm run topology -- reload` does, for the live edge set).
import { readFile } from 'node:fs/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Conflict, Forbidden, InvalidInput, NotFound, TesseraError } from '../platform/errors.js'
import { requireBearer } from '../platform/service.js'
import type { EdgeReloadResult, ReloadReport } from '../topology/reload.js'
import { parseEdgeNode, type TopologyEdge } from '../topology/topology.js'
import type { PurgeApiDeps } from './app.js'
import type { EdgeEntry, EdgeSet } from '../topology/edge-set.js'
import { EdgeClient } from './edge-client.js'
import type { NodeLag } from './purger.js'
import { topPages } from './top-pages.js'
import { VarnishCli } from '../varnish-cli/varnish-cli.js'
import { warm } from './warmup.js'

/** What the purge service can do to the edges' VCL (server.ts: topology/reload.ts with this service's config). */
export interface TopologyControl {
  /** Loads the current site VCL on one node (a joining one) and makes it active. */
  loadVcl(edge: TopologyEdge): Promise<EdgeReloadResult>
  /** The topology file's services (or the defaults), loaded on the shields and the edges `edges` picks from the file's. */
  reload(edges: (fileEdges: TopologyEdge[]) => Promise<TopologyEdge[]>): Promise<ReloadReport>
}

export type EdgeRoutesDeps = Pick<
  PurgeApiDeps,
  'purger' | 'eventLog' | 'editorToken' | 'opsToken' | 'edgeAdmins' | 'edgeWorkDirs' | 'adminSecretFile' | 'shieldAdmins' | 'shieldWorkDirs' | 'warmConcurrency' | 'topology'
>

export const MAX_WARM = 1000
const PUT_FIELDS = ['url', 'admin', 'workdir', 'inner', 'warm']

export class EdgeAdminUnreachable extends TesseraError {
  readonly code = 'TESSERA_EDGE_ADMIN_UNREACHABLE'
  override readonly statusCode = 422
  constructor(edge: string, message: string) {
    super(`edge ${edge}: its admin address did not take the site VCL (${message}); nothing was changed: check admin and that varnishd runs with our -S secret`, { field: 'admin' })
  }
}

export class JoiningEdgeRefusedVcl extends TesseraError {
  readonly code = 'TESSERA_VCL_REFUSED'
  override readonly statusCode = 422
  constructor(compilerMessage: string) {
    super(`${compilerMessage}\nnothing was changed: the node is not in the edge set`)
  }
}

export class FixedEdgeSet extends TesseraError {
  readonly code = 'TESSERA_FIXED_EDGE_SET'
  override readonly statusCode = 409
  constructor() {
    super('this purge service was started without a live edge set (no Redis-backed set); restart it with server.ts')
  }
}

/** Ops only (TESSERA_OPS_TOKEN): an editor's token gets 403. */
export function requireOps(request: FastifyRequest, deps: Pick<EdgeRoutesDeps, 'editorToken' | 'opsToken'>, what: string): void {
  const token = requireBearer(request, [deps.opsToken, deps.editorToken], 'the ops API')
  if (token !== deps.opsToken) throw new Forbidden(`${what} is for ops: send TESSERA_OPS_TOKEN, not the editor token${deps.opsToken ? '' : ' (TESSERA_OPS_TOKEN is not set on this purge service)'}`)
}

/** Every node of the live edge set (removed ones too); without one (the API built alone): the purger's nodes. */
export async function edgeEntries(deps: Pick<EdgeRoutesDeps, 'purger' | 'edgeAdmins' | 'edgeWorkDirs'>): Promise<EdgeEntry[]> {
  if (deps.purger.edgeSet) return deps.purger.edgeSet.all()
  return deps.purger.nodes.map((url, i) => ({ name: `edge${i + 1}`, url, admin: deps.edgeAdmins[i]!, workdir: deps.edgeWorkDirs?.[i], state: 'ready', joinedAt: '', since: '', origin: 'topology' }))
}

/** The state ops see: a live node with purges waiting in its queue is lagging, whatever it was doing. */
function shownState(entry: EdgeEntry, lag: NodeLag | undefined): string {
  if (entry.state === 'removed') return 'removed'
  return lag && lag.pending > 0 ? 'lagging' : entry.state
}

async function adminReport(address: { host: string; port: number } | undefined, secret: Buffer | undefined, secretFile: string) {
  if (!address) return { reachable: false, error: 'no admin address configured (TESSERA_EDGE_ADMINS)' }
  if (!secret) return { address: `${address.host}:${address.port}`, reachable: false, error: `cannot read ${secretFile}` }
  try {
    const cli = await VarnishCli.connect({ ...address, secret, timeoutMs: 2000 })
    try {
      await cli.ping()
      const backends = await cli.backendList()
      return { address: `${address.host}:${address.port}`, reachable: true, backends: backends.map((b) => ({ name: b.name, health: b.health, admin: b.admin, probe: b.probe })) }
    } finally {
      await cli.close()
    }
  } catch (err) {
    return { address: `${address.host}:${address.port}`, reachable: false, error: (err as Error).message }
  }
}

export function registerEdgeRoutes(app: FastifyInstance, deps: EdgeRoutesDeps, shieldCache: (workDir: string | undefined) => Promise<unknown>): void {
  const { purger } = deps
  const edgeSet = (): EdgeSet => {
    if (!purger.edgeSet) throw new FixedEdgeSet()
    return purger.edgeSet
  }
  const who = (request: FastifyRequest) => (requireBearer(request, [deps.editorToken, deps.opsToken], 'the purge API') === deps.editorToken ? 'editor' : 'ops')
  const nameOf = (request: FastifyRequest) => (request.params as { name: string }).name

  const entries = () => edgeEntries(deps)

  app.get('/edges', async (request) => {
    who(request)
    const [lags, all] = await Promise.all([purger.lag(), entries()])
    const secret = await readFile(deps.adminSecretFile).catch(() => undefined)
    const edges = await Promise.all(
      all.map(async (entry) => {
        const lag = lags.find((l) => l.tier === 'edge' && l.node === entry.url)
        const base = {
          name: entry.name,
          node: entry.url,
          tier: 'edge' as const,
          state: shownState(entry, lag),
          since: entry.since,
          joinedAt: entry.joinedAt,
          origin: entry.origin,
          ...(entry.warm ? { warm: entry.warm } : {}),
          ...(entry.error ? { error: entry.error } : {}),
          pending: lag?.pending ?? 0,
          lagMs: lag?.lagMs ?? 0,
          ...(lag?.oldestQueuedAt ? { oldestQueuedAt: lag.oldestQueuedAt } : {}),
          ...(lag?.lastError ? { lastError: lag.lastError } : {}),
        }
        return entry.state === 'removed' ? base : { ...base, admin: await adminReport(entry.admin, secret, deps.adminSecretFile) }
      }),
    )
    // The shield tier: purged before the edges; an edge takes a shield's copies only once the shield has had
    // every purge the edge has had (varnish/shield.vcl).
    const shields = await Promise.all(
      purger.shieldNodes.map(async (node, i) => ({
        ...lags.find((l) => l.tier === 'shield' && l.node === node)!,
        admin: await adminReport(deps.shieldAdmins?.[i], secret, deps.adminSecretFile),
        cache: await shieldCache(deps.shieldWorkDirs?.[i]),
      })),
    )
    // the change stream: how far behind the slowest consumer group is, and whether that is over the cap
    return { edges, ...(shields.length ? { shields } : {}), ...(deps.eventLog ? { events: await deps.eventLog.status() } : {}) }
  })

  app.put('/edges/:name', async (request, reply) => {
    requireOps(request, deps, 'PUT /edges')
    const set = edgeSet()
    const name = nameOf(request)
    const body = request.body
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInput('body', 'must be a JSON object {"url", "admin", "workdir"?, "warm"?}')
    const fields = body as Record<string, unknown>
    for (const field of Object.keys(fields)) if (!PUT_FIELDS.includes(field)) throw new InvalidInput(field, `unknown field; use ${PUT_FIELDS.join(', ')}`)
    const warmCount = fields.warm ?? 0
    if (typeof warmCount !== 'number' || !Number.isInteger(warmCount) || warmCount < 0 || warmCount > MAX_WARM) throw new InvalidInput('warm', `must be an integer from 0 to ${MAX_WARM} (how many most-read pages to fetch through the node before it is ready)`)
    const { warm: _warm, ...nodeFields } = fields
    const { edge, problems } = parseEdgeNode(name, nodeFields)
    if (!edge) {
      const [first] = problems
      const field = /^([a-z]+(?:\.[a-z]+)?):/.exec(first!)?.[1] ?? 'body'
      throw new InvalidInput(field === 'name' ? 'name' : field, problems.map((p) => p.replace(/^[a-z.]+: /, '')).join('; '))
    }
    const current = await set.get(name)
    if (current && current.state !== 'removed') {
      if (current.url === edge.url && current.admin.host === edge.admin.host && current.admin.port === edge.admin.port) return reply.code(200).send({ edge: current, changed: false })
      throw new Conflict(`edge ${name} is in the set already as ${current.url} (admin ${current.admin.host}:${current.admin.port}); DELETE /edges/${name} first`, 'name')
    }
    const live = await set.live()
    const sameUrl = live.find((e) => e.url === edge.url)
    if (sameUrl || purger.shieldNodes.includes(edge.url)) throw new Conflict(`${edge.url} is already ${sameUrl ? `edge ${sameUrl.name}` : 'a shield'}`, 'url')
    const sameAdmin = live.find((e) => e.admin.host === edge.admin.host && e.admin.port === edge.admin.port)
    if (sameAdmin) throw new Conflict(`admin ${edge.admin.host}:${edge.admin.port} is already edge ${sameAdmin.name}'s`, 'admin')
    if (!deps.topology) throw new FixedEdgeSet()

    // The site VCL first (shown as joining meanwhile, not yet purged): a node that cannot take it is refused and
    // the set is left as it was.
    const takeBack = await set.propose(edge)
    let loaded: EdgeReloadResult
    try {
      loaded = await deps.topology.loadVcl(edge)
    } catch (err) {
      await takeBack()
      throw err
    }
    if (!loaded.ok) {
      await takeBack()
      if (loaded.error?.code === 'TESSERA_VCL_REFUSED') throw new JoiningEdgeRefusedVcl(loaded.error.message)
      throw new EdgeAdminUnreachable(name, loaded.error?.message ?? 'no answer')
    }
    if ((await set.get(name))?.state !== 'joining') throw new Conflict(`edge ${name} was removed while it was joining; PUT it again`, 'name')
    const entry = await set.join(edge, warmCount > 0 ? 'warming' : 'ready')
    await purger.refreshNodes()
    await set.audit({ who: 'ops', what: 'join', edge: name, url: edge.url, detail: { admin: `${edge.admin.host}:${edge.admin.port}`, vcl: loaded.vcl, warm: warmCount } })
    request.log.info({ who: 'ops', edge: name, url: edge.url, vcl: loaded.vcl, warm: warmCount }, 'edge node joined')
    if (warmCount > 0) void warmJoiningNode(entry, warmCount)
    return reply.code(201).send({ edge: entry, vcl: loaded.vcl, changed: true })
  })

  /** Fetches the most-read pages (of every local node but this one) through the joining node's front, then: ready. */
  const warmJoiningNode = async (entry: EdgeEntry, count: number) => {
    const set = edgeSet()
    const client = new EdgeClient(entry.url, '', 10_000)
    try {
      const dirs = (await set.live()).filter((e) => e.name !== entry.name && e.workdir).map((e) => e.workdir!)
      const { pages, errors } = await topPages(dirs, count)
      const [result] = await warm([client], pages.map((p) => p.url), deps.warmConcurrency)
      const report = { requested: count, urls: pages.length, fetched: result?.fetched ?? 0, failed: result?.failed ?? 0, ...(result?.lastError ? { lastError: result.lastError } : {}), finishedAt: new Date().toISOString() }
      await set.update(entry.name, { state: 'ready', warm: report, ...(errors.length ? { error: `stats unreadable at some nodes: ${errors.join('; ')}` } : {}) })
      app.log.info({ edge: entry.name, ...report }, 'joining edge node warmed')
    } catch (err) {
      await set.update(entry.name, { state: 'ready', error: `warm-up stopped: ${(err as Error).message}` }).catch(() => {})
      app.log.warn({ err, edge: entry.name }, 'warm-up of a joining edge node failed; it is ready cold')
    } finally {
      await client.close()
    }
  }

  app.delete('/edges/:name', async (request) => {
    requireOps(request, deps, 'DELETE /edges')
    const name = nameOf(request)
    const removed = await edgeSet().remove(name)
    if (!removed) throw new NotFound(`edge node ${name} (in the live edge set)`)
    await purger.refreshNodes()
    await edgeSet().audit({ who: 'ops', what: 'leave', edge: name, url: removed.entry.url, detail: { droppedPurges: removed.droppedPurges } })
    request.log.info({ who: 'ops', edge: name, url: removed.entry.url, droppedPurges: removed.droppedPurges }, 'edge node removed')
    return { edge: removed.entry, droppedPurges: removed.droppedPurges }
  })

  app.get('/edges/audit', async (request) => {
    requireOps(request, deps, 'GET /edges/audit')
    const raw = (request.query as Record<string, string>).limit
    const limit = raw === undefined ? 50 : Number(raw)
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidInput('limit', 'must be an integer from 1 to 1000')
    return { audit: await edgeSet().auditLog(limit) }
  })

  app.post('/topology/reload', async (request, reply) => {
    requireOps(request, deps, 'POST /topology/reload')
    if (!deps.topology) throw new FixedEdgeSet()
    const report = await deps.topology.reload(async (fileEdges) => (purger.edgeSet ? purger.edgeSet.reloadTargets(fileEdges) : fileEdges))
    await purger.edgeSet?.audit({ who: 'ops', what: 'topology-reload', detail: { vcl: report.vcl, ok: report.ok, failed: report.edges.filter((e) => !e.ok).map((e) => e.edge) } })
    request.log.info({ who: 'ops', vcl: report.vcl, ok: report.ok }, 'topology reloaded')
    const failed = [...report.edges, ...(report.shields ?? [])].filter((e) => !e.ok)
    // 422: the VCL was refused (the running one stays everywhere it was refused); 502: a node did not answer.
    const code = report.ok ? 200 : failed.every((e) => e.error?.code === 'TESSERA_VCL_REFUSED') ? 422 : 502
    return reply.code(code).send(report)
  })

  app.get('/stats/top', async (request) => {
    requireOps(request, deps, 'GET /stats/top')
    const raw = (request.query as Record<string, string>).limit
    const limit = raw === undefined ? 20 : Number(raw)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_WARM) throw new InvalidInput('limit', `must be an integer from 1 to ${MAX_WARM}`)
    const nodes = (await entries()).filter((e) => e.state !== 'removed')
    const local = nodes.filter((e) => e.workdir)
    const { pages, nodesRead, errors } = await topPages(local.map((e) => e.workdir!), limit)
    return { pages, nodes: { read: nodesRead, withoutWorkDir: nodes.filter((e) => !e.workdir).map((e) => e.name) }, ...(errors.length ? { errors } : {}) }
  })
}
