import { BLOCK_SCOPE_KINDS, BLOCK_SLOTS, type BlockScope, type BlockScopeKind, type BlockSlot } from '../../content/model.js'
import { blockKey, slotKey } from '../../cache/content-keys.js'
import { defineFragment } from '../kit/fragment.js'
import { PURGED_ON_EDIT_POLICY, type RenderPolicy } from '../../cache/policy.js'
import { loadTemplates } from '../../platform/html.js'
import { isActive, nextScheduledChange, renderBlock } from './blocks.js'
import { renderHubModule } from './hub-modules.js'

export { isActive, nextScheduledChange, renderBlock } from './blocks.js'

const templates = loadTemplates('fragments/sections/templates')

/** The include of a slot's blocks for one scope: `/fragments/sections/<slot>` (site), `.../<slot>/<kind>/<id>`. */
export function slotInclude(slot: BlockSlot, scope: BlockScope): string {
  return scope === 'site' ? `/fragments/sections/${slot}` : `/fragments/sections/${slot}/${scope.replace(':', '/')}`
}

/**
 * A (slot, scope) with no blocks at all, drafts and scheduled ones included, shows nothing until an edit puts
 * one there, and that edit purges its slot key: cached like a page shell, not refetched at the fragment's TTL.
 */
const EMPTY_SLOT: RenderPolicy = { policy: PURGED_ON_EDIT_POLICY, reason: 'empty-slot' }

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/

/**
 * Editor-made blocks of one slot (nav, sidebar, main) for one scope (the site's, a section's, an article's, a
 * hub's), in order, each shown only in its scheduled window. A page includes one per slot and scope it shows.
 */
export const sections = defineFragment({
  name: 'sections',
  routes: ['/fragments/sections/:slot', '/fragments/sections/:slot/:scopeKind/:scopeId', '/fragments/sections/modules/:hub/:index'],
  checkParams: (params) => {
    if (params.hub !== undefined) return ID.test(params.hub) && /^[0-9]{1,2}$/.test(params.index ?? '') ? undefined : 'bad hub module'
    if (!BLOCK_SLOTS.includes(params.slot as BlockSlot)) return 'unknown slot'
    if (params.scopeKind !== undefined && !BLOCK_SCOPE_KINDS.includes(params.scopeKind as BlockScopeKind)) return 'unknown scope'
    if (params.scopeId !== undefined && !ID.test(params.scopeId)) return 'bad scope id'
    return undefined
  },
  policy: { ttl: 120, staleWhileRevalidate: 30, staleIfError: 86_400 },
  fallback: () => '<div data-fragment="sections" data-fragment-state="unavailable"></div>',
  async render({ content, params, now, preview }) {
    if (params.hub !== undefined) return renderHubModule(content, params.hub, Number(params.index), now, preview)
    const slot = params.slot as BlockSlot
    const scope: BlockScope = params.scopeKind === undefined ? 'site' : `${params.scopeKind as BlockScopeKind}:${params.scopeId}`
    const blocks = await content.listScopedBlocks(slot, scope)
    const shown = blocks.filter((b) => preview || (!b.draft && isActive(b, now))).map((b) => ({ id: b.id, kind: b.kind, html: renderBlock(b, now) }))
    return {
      html: templates.slot({ slot, scope, blocks: shown }),
      keys: [slotKey(slot, scope), ...blocks.map((b) => blockKey(b.id))],
      nextChange: nextScheduledChange(blocks, now),
      ...(blocks.length === 0 ? { policy: EMPTY_SLOT } : {}),
    }
  },
})
