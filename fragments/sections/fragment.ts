import { BLOCK_SCOPE_KINDS, BLOCK_SLOTS, type Block, type BlockScope, type BlockScopeKind, type BlockSlot } from '../../content/model.js'
import { blockKey, slotKey } from '../kit/content-keys.js'
import { defineFragment } from '../kit/fragment.js'
import { hbs, loadTemplates, neutraliseEsi, renderSnippet } from '../kit/html.js'

const templates = loadTemplates('fragments/sections/templates')

/** A block is shown from startsAt (inclusive) until endsAt (exclusive). */
export function isActive(block: Block, now: Date): boolean {
  const t = now.getTime()
  return (!block.startsAt || Date.parse(block.startsAt) <= t) && (!block.endsAt || Date.parse(block.endsAt) > t)
}

/** The next moment any block of the slot appears or disappears. */
export function nextScheduledChange(blocks: Block[], now: Date): Date | undefined {
  const t = now.getTime()
  const upcoming = blocks
    .flatMap((b) => [b.startsAt, b.endsAt])
    .filter((iso): iso is string => !!iso)
    .map((iso) => Date.parse(iso))
    .filter((ms) => ms > t)
  return upcoming.length ? new Date(Math.min(...upcoming)) : undefined
}

export function renderBlock(block: Block, now: Date): string {
  switch (block.kind) {
    case 'text':
      return `<p>${hbs.escapeExpression(block.content)}</p>`
    case 'html':
      return neutraliseEsi(block.content)
    case 'snippet':
      return renderSnippet(block.content, { now: now.toISOString(), slot: block.slot })
  }
}

/** The include of a slot's blocks for one scope: `/fragments/sections/<slot>` (site), `.../<slot>/<kind>/<id>`. */
export function slotInclude(slot: BlockSlot, scope: BlockScope): string {
  return scope === 'site' ? `/fragments/sections/${slot}` : `/fragments/sections/${slot}/${scope.replace(':', '/')}`
}

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/

/**
 * Editor-made blocks of one slot (nav, sidebar, main) for one scope (the site's, a section's, an article's, a
 * hub's), in order, each shown only in its scheduled window. A page includes one per slot and scope it shows.
 */
export const sections = defineFragment({
  name: 'sections',
  routes: ['/fragments/sections/:slot', '/fragments/sections/:slot/:scopeKind/:scopeId'],
  checkParams: (params) => {
    if (!BLOCK_SLOTS.includes(params.slot as BlockSlot)) return 'unknown slot'
    if (params.scopeKind !== undefined && !BLOCK_SCOPE_KINDS.includes(params.scopeKind as BlockScopeKind)) return 'unknown scope'
    if (params.scopeId !== undefined && !ID.test(params.scopeId)) return 'bad scope id'
    return undefined
  },
  policy: { ttl: 120, grace: 30, keep: 86_400 },
  fallback: () => '<div data-fragment="sections" data-fragment-state="unavailable"></div>',
  async render({ content, params, now }) {
    const slot = params.slot as BlockSlot
    const scope: BlockScope = params.scopeKind === undefined ? 'site' : `${params.scopeKind as BlockScopeKind}:${params.scopeId}`
    const blocks = await content.listScopedBlocks(slot, scope)
    const shown = blocks.filter((b) => isActive(b, now)).map((b) => ({ id: b.id, kind: b.kind, html: renderBlock(b, now) }))
    return {
      html: templates.slot({ slot, scope, blocks: shown }),
      keys: [slotKey(slot, scope), ...blocks.map((b) => blockKey(b.id))],
      nextChange: nextScheduledChange(blocks, now),
    }
  },
})
