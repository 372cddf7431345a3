// Rendering editor blocks, shared by the slot includes and a hub's blocks modules.
import type { Block } from '../../content/model.js'
import { hbs, neutraliseEsi, renderSnippet } from '../../platform/html.js'

/** Something scheduled: shown from startsAt (inclusive) until endsAt (exclusive). */
interface Scheduled {
  startsAt?: string
  endsAt?: string
}

/** Shown from startsAt (inclusive) until endsAt (exclusive). */
export function isActive(block: Scheduled, now: Date): boolean {
  const t = now.getTime()
  return (!block.startsAt || Date.parse(block.startsAt) <= t) && (!block.endsAt || Date.parse(block.endsAt) > t)
}

/** The next moment any of them appears or disappears. */
export function nextScheduledChange(blocks: Scheduled[], now: Date): Date | undefined {
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

