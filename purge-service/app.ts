// The purge service's HTTP API, for editors (and ops): purge, preview, audit, the edge nodes (edges-api.ts), bans (bans.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Logger } from '../platform/log.js'
import { intParam } from '../content/validate.js'
import { urlsAffectedBy } from '../cache/key-index.js'
import { requireBearer } from '../platform/service.js'
import { createService } from '../platform/service.js'
import { registerBanRoutes } from './bans.js'
import { registerConsole } from './console/routes.js'
import { registerEdgeRoutes, type TopologyControl } from './edges-api.js'
import { openApiDocument } from './openapi.js'
import { registerPolicyRoutes } from './policy-api.js'
import type { EventLog } from './event-log.js'
import type { Purger } from './purger.js'
import { parsePurgeRequest } from './request.js'
import { readCounters } from '../edge-stats/edge-log-reader.js'
import { registerStatsRoutes } from './stats-api.js'
import { warm } from './warmup.js'

export interface PurgeApiDeps {
  redis: Redis
  purger: Purger
  /** The change stream's trimmer; GET /edges reports its backlog. */
  eventLog?: EventLog
  editorToken: string
  opsToken?: string
  /** Signs the console's draft preview tokens (TESSERA_PREVIEW_SECRET); without it the console issues none. */
  previewSecret?: string
  /** Where the console's preview links point: the site as readers reach it (the first edge node). */
  siteUrl?: string
  /** Admin (-T) address of each edge node, in the order of purger.nodes. */
  edgeAdmins: Array<{ host: string; port: number }>
  adminSecretFile: string
  /** varnishd work dir (-n) of each edge node, for GET /stats; undefined for a node on another machine. */
  edgeWorkDirs?: Array<string | undefined>
  /** The shield tier: admin (-T) address and work dir of each shield, in the order of purger.shieldNodes. */
  shieldAdmins?: Array<{ host: string; port: number }>
  shieldWorkDirs?: Array<string | undefined>
  warmConcurrency: number
  /** Loading the site VCL on a joining node and POST /topology/reload (server.ts); absent: both answer 409. */
  topology?: TopologyControl
  logger?: Logger
}

/** A shield's cache from its counters (varnishstat): hit ratio since it started, and its origin fetches. */
async function shieldCache(workDir: string | undefined) {
  if (!workDir) return { error: 'no work dir for this shield (TESSERA_SHIELD_WORKDIRS): its counters are read on its machine' }
  try {
    const { main } = await readCounters(workDir)
    const looked = main.cache_hit + main.cache_miss + main.cache_hitmiss
    return { hits: main.cache_hit, graceHits: main.cache_hit_grace, misses: main.cache_miss, hitRatio: looked === 0 ? null : Math.round((main.cache_hit / looked) * 10_000) / 10_000, originFetches: main.backend_req, objects: main.n_object }
  } catch (err) {
    return { error: `varnishstat -n ${workDir}: ${(err as Error).message.split('\n')[0]}` }
  }
}

export function buildPurgeApi(deps: PurgeApiDeps): FastifyInstance {
  const app = createService({ name: 'purge', logger: deps.logger, bodyLimit: 256 * 1024 })
  const who = (request: FastifyRequest) => {
    const token = requireBearer(request, [deps.editorToken, deps.opsToken], 'the purge API')
    return token === deps.editorToken ? 'editor' : 'ops'
  }

  /** Pages come last: warming a page re-assembles it from the fragments warmed just before. */
  const affectedUrls = async (keys: string[], urls: string[]) => {
    const all = await urlsAffectedBy(deps.redis, keys, urls)
    return [...all.filter((u) => u.startsWith('/fragments/')), ...all.filter((u) => !u.startsWith('/fragments/'))]
  }

  app.post('/purges', async (request, reply) => {
    const role = who(request)
    const { target, mode, warm: wantWarm } = parsePurgeRequest(request.body)
    const record = await deps.purger.purge(target, mode, { who: role, source: 'api' })
    const warmed = wantWarm ? await warm(
      deps.purger.nodes.map((n) => deps.purger.client(n)),
      await affectedUrls(target.keys, target.urls),
      deps.warmConcurrency,
    ) : undefined
    // 200: every node acknowledged. 202: some node did not; it has the purge queued and will converge.
    return reply.code(record.complete ? 200 : 202).send({ ...record, ...(warmed ? { warmed } : {}) })
  })

  app.post('/purges/preview', async (request) => {
    who(request)
    const { target, mode } = parsePurgeRequest(request.body)
    const urls = await affectedUrls(target.keys, target.urls)
    return { mode, keys: target.keys, urls, count: urls.length, nodes: deps.purger.nodes }
  })

  app.get('/purges', async (request) => {
    who(request)
    const limit = intParam('limit', (request.query as Record<string, unknown>).limit, 1, 1000, 50)
    return { purges: await deps.purger.audit(limit) }
  })

  registerBanRoutes(app, deps, who)
  registerEdgeRoutes(app, deps, shieldCache)
  registerPolicyRoutes(app, deps)
  registerStatsRoutes(app, deps)
  registerConsole(app, deps)
  app.get('/openapi.json', async () => openApiDocument)
  return app
}
