import { BLOCK_SLOTS, type Block, type BlockSlot } from '../../content/model.js'
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

/** Editor-made blocks of one slot (nav, sidebar, main), in order, each shown only in its scheduled window. */
export const sections = defineFragment({
  name: 'sections',
  routes: ['/fragments/sections/:slot'],
  checkParams: (params) => (BLOCK_SLOTS.includes(params.slot as BlockSlot) ? undefined : 'unknown slot'),
  policy: { ttl: 120, grace: 30, keep: 86_400 },
  fallback: () => '<div data-fragment="sections" data-fragment-state="unavailable"></div>',
  async render({ content, params, now }) {
    const slot = params.slot as BlockSlot
    const blocks = await content.listBlocks(slot)
    const shown = blocks.filter((b) => isActive(b, now)).map((b) => ({ id: b.id, kind: b.kind, html: renderBlock(b, now) }))
    return {
      html: templates.slot({ slot, blocks: shown }),
      keys: [`slot:${slot}`, ...blocks.map((b) => `block:${b.id}`)],
      nextChange: nextScheduledChange(blocks, now),
    }
  },
})
