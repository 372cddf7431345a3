// The ops API for cache policies (TESSERA_OPS_TOKEN only): list every fragment's policy, set or clear an
// override. A change is stored and published (every fragment service applies it at once), then the objects
// cached under the old policy are soft-purged by `fragment:<name>` on every edge node: readers get the stale
// copy once while it refreshes under the new policy, so there is no stampede on the origin.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { FRAGMENT_NAMES, type FragmentName } from '../platform/config.js'
import { Forbidden, InvalidInput } from '../platform/errors.js'
import { policyToWire } from '../cache/policy.js'
import { parsePolicy } from '../cache/policy-overrides.js'
import { requireBearer } from '../platform/service.js'
import { isFragmentName } from '../fragments/registry.js'
import { UnknownFragment } from './errors.js'
import { fragmentPolicyToWire, PolicyStore } from './policy-store.js'
import type { PurgeApiDeps } from './app.js'
import type { Purger, PurgeRecord } from './purger.js'

/** Soft-purges what one fragment has cached, on every edge node. */
export function purgeFragments(purger: Purger, fragments: FragmentName[], who: string): Promise<PurgeRecord> {
  return purger.purge({ keys: fragments.map((f) => `fragment:${f}`), urls: [] }, 'soft', { who, source: 'api' })
}

export function registerPolicyRoutes(app: FastifyInstance, deps: Pick<PurgeApiDeps, 'redis' | 'purger' | 'editorToken' | 'opsToken'>): void {
  const store = new PolicyStore(deps.redis)
  const requireOps = (request: FastifyRequest) => {
    const token = requireBearer(request, [deps.opsToken, deps.editorToken], 'the ops API')
    if (token !== deps.opsToken) {
      throw new Forbidden(`cache policies are for ops: send TESSERA_OPS_TOKEN, not the editor token${deps.opsToken ? '' : ' (TESSERA_OPS_TOKEN is not set on this purge service)'}`)
    }
  }
  const fragmentOf = (request: FastifyRequest): FragmentName => {
    const { fragment } = request.params as { fragment: string }
    if (!isFragmentName(fragment)) throw new UnknownFragment(fragment, FRAGMENT_NAMES)
    return fragment
  }

  app.get('/policies', async (request) => {
    requireOps(request)
    return { policies: (await store.list()).map(fragmentPolicyToWire) }
  })

  app.get('/policies/audit', async (request) => {
    requireOps(request)
    const raw = (request.query as Record<string, string>).limit
    const limit = raw === undefined ? 50 : Number(raw)
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidInput('limit', 'must be an integer from 1 to 1000')
    return { audit: await store.audit(limit) }
  })

  app.get('/policies/:fragment', async (request) => {
    requireOps(request)
    return fragmentPolicyToWire(await store.get(fragmentOf(request)))
  })

  app.put('/policies/:fragment', async (request, reply) => {
    requireOps(request)
    const fragment = fragmentOf(request)
    const policy = parsePolicy(request.body) // before anything is written
    const { policy: now } = await store.set(fragment, policy, 'ops')
    const purge = await purgeFragments(deps.purger, [fragment], 'ops')
    request.log.info({ who: 'ops', fragment, policy: policyToWire(policy), purge: purge.id }, 'cache policy override set')
    // 202: some edge node did not take the purge yet; it is queued for it (see GET /edges).
    return reply.code(purge.complete ? 200 : 202).send({ ...fragmentPolicyToWire(now), changed: true, purge })
  })

  app.delete('/policies/:fragment', async (request, reply) => {
    requireOps(request)
    const fragment = fragmentOf(request)
    const { policy: now, changed } = await store.clear(fragment, 'ops')
    if (!changed) return { ...fragmentPolicyToWire(now), changed }
    const purge = await purgeFragments(deps.purger, [fragment], 'ops')
    request.log.info({ who: 'ops', fragment, purge: purge.id }, 'cache policy override cleared')
    return reply.code(purge.complete ? 200 : 202).send({ ...fragmentPolicyToWire(now), changed, purge })
  })
}
