// The purge service's HTTP API, for editors (and ops): purge, preview, audit, the edge nodes (edges-api.ts), bans.
import { readFile } from 'node:fs/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Logger } from '../fragments/kit/log.js'
import { intParam } from '../content/validate.js'
import { InvalidInput } from '../fragments/kit/errors.js'
import { urlsAffectedBy } from '../fragments/kit/key-index.js'
import { requireBearer } from '../fragments/kit/service.js'
import { createService } from '../fragments/kit/service.js'
import { registerConsole } from './console/routes.js'
import { edgeEntries, registerEdgeRoutes, type TopologyControl } from './edges-api.js'
import { openApiDocument } from './openapi.js'
import { registerPolicyRoutes } from './policy-api.js'
import type { EventLog } from './event-log.js'
import type { Purger } from './purger.js'
import { parsePurgeRequest } from './request.js'
import { readCounters } from './edge-log-reader.js'
import { registerStatsRoutes } from './stats-api.js'
import { banExpressionForPageTier, banExpressionForUrl, banTokens, InvalidBan, VarnishCli } from './varnish-cli.js'
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

  app.post('/bans', async (request, reply) => {
    const role = who(request)
    const body = request.body as Record<string, unknown> | null
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInput('body', 'must be {"prefix": "/path/"} or {"regex": "..."}')
    const fields = Object.keys(body)
    if (fields.length !== 1 || (fields[0] !== 'prefix' && fields[0] !== 'regex')) throw new InvalidInput('body', 'must be exactly one of {"prefix": "/path/"} or {"regex": "..."}')
    const kind = fields[0] as 'prefix' | 'regex'
    const expression = banExpressionForUrl(kind, body[kind] as string)
    // The page tier's copies at a banned URL or including one go too (rule 1 of the page tier, varnish/tier.vcl).
    const pageTierExpression = banExpressionForPageTier(kind, body[kind] as string)
    banTokens(expression) // refuses here, as a 400, what varnishd's CLI could not carry
    banTokens(pageTierExpression)
    const secret = await readFile(deps.adminSecretFile)
    const banNode = async (node: string, tier: 'shield' | 'edge', admin: { host: string; port: number } | undefined) => {
      const started = performance.now()
      try {
        if (!admin) throw Object.assign(new Error(`no admin address configured for ${node}`), { code: 'TESSERA_BAN_FAILED' })
        const cli = await VarnishCli.connect({ ...admin, secret, timeoutMs: 2000 })
        try {
          await cli.ban(expression)
          await cli.ban(pageTierExpression)
        } finally {
          await cli.close()
        }
        return { node, tier, ok: true, ms: Math.round(performance.now() - started) }
      } catch (err) {
        return { node, tier, ok: false, error: { code: (err as { code?: string }).code ?? 'TESSERA_BAN_FAILED', message: (err as Error).message } }
      }
    }
    // The shields first, as for purges: an edge that refetches a banned object must not find it at its shield.
    const shields = await Promise.all(deps.purger.shieldNodes.map((node, i) => banNode(node, 'shield', deps.shieldAdmins?.[i])))
    const live = (await edgeEntries(deps)).filter((e) => e.state !== 'removed')
    const edges = await Promise.all(live.map((e) => banNode(e.url, 'edge', e.admin)))
    const nodes = [...shields, ...edges]
    const complete = nodes.every((n) => n.ok)
    // Every node runs the same varnishd: if they all refused the expression (106), the input was at fault.
    const refused = nodes.filter((n) => !n.ok && /answered 106/.test(n.error?.message ?? ''))
    if (!complete && refused.length === nodes.filter((n) => !n.ok).length && refused.length === nodes.length) {
      throw new InvalidBan('regex', `varnishd refused it: ${refused[0].error?.message}`)
    }
    request.log.info({ who: role, expression, pageTierExpression, complete }, 'ban')
    return reply.code(complete ? 200 : 502).send({ expression, pageTierExpression, complete, nodes })
  })

  registerEdgeRoutes(app, deps, shieldCache)
  registerPolicyRoutes(app, deps)
  registerStatsRoutes(app, deps)
  registerConsole(app, deps)
  app.get('/openapi.json', async () => openApiDocument)
  return app
}
