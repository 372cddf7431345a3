// Turns a fragment definition into a fastify app. The cached-route plumbing (cache headers, surrogate keys,
// the key -> URL index, the fallback when content cannot be read) is shared with the layout service.
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { ContentRepository } from '../../content/repository.js'
import type { FragmentDefinition, Rendered } from './fragment.js'
import { includeKey, latestPurge, recordKeyUrls } from '../../cache/key-index.js'
import { keyHeaderValues, normaliseKeys } from '../../cache/keys.js'
import { measureRenders } from '../../platform/metrics.js'
import { type CachePolicy, cacheControl, describePolicy, expiresAtHeader, NOT_FOUND_POLICY, fixedPolicy, policyForResponse, type PolicyReader, policyUntil, type ResponsePolicy } from '../../cache/policy.js'
import type { PolicySource } from '../../cache/policy-source.js'
import { createService } from '../../platform/service.js'

export interface FragmentDeps {
  content: ContentRepository
  /** Where the key -> URL index is written (the purge service reads it for previews and warm-up). */
  redis: Redis
  logLevel?: string
  now?: () => Date
  /** Follows ops overrides of the fragment's policy; without it, the fragment's own policy applies. */
  policies?: Pick<PolicySource, 'current'>
  /** Simulation knob for benchmarks (TESSERA_RENDER_DELAY_MS): wait this long before each render. */
  renderDelayMs?: number
}

export interface CachedRoute {
  /** Names the objects this route serves: `fragment:<name>` or `layout:<name>` is added to their keys. */
  key: string
  path: string
  policy: PolicyReader
  /** Page shells ask the edge for ESI processing. */
  esi: boolean
  checkParams?: (params: Record<string, string>) => string | undefined
  /** What a bad URL gets (a 404, cached briefly); a page shell names its includes (see Rendered). */
  notFound: () => Pick<Rendered, 'html' | 'includes'>
  fallback: () => string
  render: (params: Record<string, string>, now: Date) => Promise<Rendered>
}

const notFoundPolicy = fixedPolicy(NOT_FOUND_POLICY)

/** Renders of one request when content keeps changing under it; after that the answer is not cached. */
const MAX_RENDERS = 3

export function addCachedRoute(app: FastifyInstance, route: CachedRoute, deps: Pick<FragmentDeps, 'redis' | 'now' | 'renderDelayMs'>): void {
  const now = deps.now ?? (() => new Date())
  const render = measureRenders(app, route.key, route.render) // renders, failures and render time by fragment
  app.get(route.path, async (request, reply) => {
    const params = request.params as Record<string, string>
    reply.header('content-type', 'text/html; charset=utf-8')
    if (route.esi) reply.header('surrogate-control', 'content="ESI/1.0"')
    let at = now()
    let rendered: Rendered
    let checkedAt: number | undefined
    const badParams = route.checkParams?.(params) !== undefined
    if (badParams) {
      rendered = { status: 404, ...route.notFound(), keys: [] }
    } else {
      try {
        if (deps.renderDelayMs) await new Promise((r) => setTimeout(r, deps.renderDelayMs))
        rendered = await render(params, at)
        // A change purged while we were reading would land in the cache after its purge: read again.
        for (let attempt = 0; attempt < MAX_RENDERS; attempt++) {
          const checkStarted = Date.now()
          if ((await latestPurge(deps.redis, [route.key, ...rendered.keys])) < at.getTime()) {
            checkedAt = checkStarted
            break
          }
          at = now()
          rendered = await render(params, at)
        }
      } catch (err) {
        // The edge keeps serving its stale copy (a 5xx never replaces it); with no copy, the page shows this.
        request.log.error({ err, route: route.path, code: 'TESSERA_RENDER_FAILED' }, 'render failed')
        reply.code(503).header('cache-control', 'no-store').header('x-tessera-fallback', '1')
        return route.fallback()
      }
    }
    const notFound = rendered.status === 404
    // Read after rendering: a response rendered after an override was published carries the new policy.
    const effective = notFound ? notFoundPolicy() : policyForResponse(route.policy(), rendered.policy)
    // (a 404 too: a hub scheduled to appear replaces its 404 on time)
    const policy: ResponsePolicy = policyUntil(effective.policy, rendered.nextChange, at)
    const keys = normaliseKeys([route.key, ...rendered.keys])
    reply
      .code(notFound ? 404 : 200)
      .header('cache-control', cacheControl(policy))
      .header('xkey', keyHeaderValues(keys))
      .header('x-tessera-policy', describePolicy(policy, effective.source, effective.reason))
      .header('x-tessera-rendered-at', at.toISOString())
    const expiresAt = expiresAtHeader(policy)
    if (expiresAt) reply.header('x-tessera-expires-at', expiresAt) // a schedule's exact moment (policy.vcl)
    if (rendered.includes?.length) reply.header('x-tessera-includes', rendered.includes.join(' '))
    if (checkedAt !== undefined) reply.header('x-tessera-checked-at', (checkedAt / 1000).toFixed(3))
    else if (!badParams) reply.header('cache-control', 'no-store') // content kept changing under every read
    // A shell is also indexed under inc:<URL> of each include: a purge preview (and warm-up) finds the pages.
    recordKeyUrls(deps.redis, [...keys, ...(rendered.includes ?? []).map(includeKey)], request.url).catch((err) => request.log.warn({ err }, 'key index not updated'))
    return rendered.html
  })
}

/** How long the edge keeps a fragment's fallback: it must be there when the fragment's service is not. */
export const FALLBACK_POLICY: CachePolicy = { ttl: 86_400, staleWhileRevalidate: 86_400, staleIfError: 7 * 86_400 }

export function buildFragmentApp(fragment: FragmentDefinition, deps: FragmentDeps): FastifyInstance {
  const app = createService({ name: `fragment-${fragment.name}`, logLevel: deps.logLevel })
  // The edge shows this in place of the fragment when it fails with no stale copy (varnish/fallback.vcl).
  app.get(`/fragments/${fragment.name}/_fallback`, async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', cacheControl(FALLBACK_POLICY))
      .header('xkey', `fragment:${fragment.name}`)
      .send(fragment.fallback()),
  )
  const { policies } = deps
  const policy: PolicyReader = policies ? () => policies.current() : fixedPolicy(fragment.policy)
  for (const path of fragment.routes) {
    addCachedRoute(
      app,
      {
        key: `fragment:${fragment.name}`,
        path,
        policy,
        esi: false,
        checkParams: fragment.checkParams,
        notFound: () => ({ html: `<div data-fragment="${fragment.name}" data-fragment-state="not-found"></div>` }),
        fallback: fragment.fallback,
        render: (params, now) => fragment.render({ content: deps.content, params, now }),
      },
      deps,
    )
  }
  return app
}
