// A fragment is a small named thing (in the spirit of Podium's podlet): its name, routes, default cache
// policy, what a page shows when it cannot be produced, and how it renders from content.
import type { ContentRepository } from '../../content/repository.js'
import type { FragmentName } from '../../platform/config.js'
import type { CachePolicy, RenderPolicy } from '../../cache/policy.js'

export interface RenderContext {
  content: ContentRepository
  params: Record<string, string>
  now: Date
  /** A draft preview (never cached): show what readers cannot see yet, drafts and scheduled content. */
  preview?: boolean
}

export interface Rendered {
  html: string
  /** Surrogate keys beyond `fragment:<name>`, which the kit adds. */
  keys: string[]
  /** 404 when what the URL names does not exist (cached briefly). */
  status?: 200 | 404
  /** When what this shows is scheduled to change: the TTL is clamped to it. */
  nextChange?: Date
  /** This response's own policy in place of the fragment's default (not of an ops override: policyForResponse). */
  policy?: RenderPolicy
  /** Page shells: the URL of every <esi:include> in the html, sent as X-Tessera-Includes for the page tier. */
  includes?: string[]
}

export interface FragmentDefinition {
  name: FragmentName
  /** Fastify route paths under /fragments/<name>, e.g. '/fragments/article/:id'. */
  routes: string[]
  /** Validates route params; returns an error message for a bad one. */
  checkParams?: (params: Record<string, string>) => string | undefined
  policy: CachePolicy
  fallback: () => string
  render: (context: RenderContext) => Promise<Rendered>
}

export function defineFragment(definition: FragmentDefinition): FragmentDefinition {
  for (const route of definition.routes) {
    if (!route.startsWith(`/fragments/${definition.name}`)) {
      throw new Error(`fragment ${definition.name}: route ${route} must start with /fragments/${definition.name}`)
    }
  }
  return Object.freeze(definition)
}
