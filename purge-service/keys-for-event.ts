// A content change -> the smallest set of surrogate keys that covers every object showing it.
// Table-driven: each rule names the keys one aspect of a change calls for.
import type { Article, Block, ChangeEvent, Nav, Section } from '../content/model.js'

type Rule<T> = (before: T | undefined, after: T | undefined, now: Date) => string[]

const isListed = (a: Article | undefined, now: Date): boolean => !!a?.publishedAt && Date.parse(a.publishedAt) <= now.getTime()
const changed = <T>(before: T | undefined, after: T | undefined, field: keyof T): boolean => before?.[field] !== after?.[field]

const ARTICLE_RULES: Array<Rule<Article>> = [
  // the body and every list or page that shows it carry article:<id>
  (b, a) => [`article:${(a ?? b)!.id}`],
  // published or unpublished (or its date moved): the latest list and its section front change membership
  (b, a, now) =>
    isListed(b, now) !== isListed(a, now) || (isListed(a, now) && changed(b, a, 'publishedAt'))
      ? ['list:latest', 'list:popular', ...[b?.section, a?.section].filter((s): s is string => !!s).map((s) => `section:${s}`)]
      : [],
  // moved between sections: both fronts
  (b, a, now) => (b && a && b.section !== a.section && (isListed(b, now) || isListed(a, now)) ? [`section:${b.section}`, `section:${a.section}`] : []),
  // popularity changed: the most-read list may reorder
  (b, a, now) => (b && a && isListed(a, now) && b.views !== a.views ? ['list:popular'] : []),
  // the page at its slug: a cached 404 for a new slug, the old address when the slug changes
  (b, a) => (changed(b, a, 'slug') || changed(b, a, 'publishedAt') ? [b?.slug, a?.slug].filter((s): s is string => !!s).map((s) => `article-slug:${s}`) : []),
]

const SECTION_RULES: Array<Rule<Section>> = [
  (b, a) => [`section:${(a ?? b)!.slug}`],
  // article bodies show the section's title
  (b, a) => (b && a && b.title !== a.title ? [`section-title:${a.slug}`] : []),
  // a new, removed or re-ordered section changes the navigation that lists sections
  (b, a) => (!b || !a || b.position !== a.position ? ['nav'] : []),
]

const BLOCK_RULES: Array<Rule<Block>> = [
  (b, a) => [`block:${(a ?? b)!.id}`],
  // entering, leaving or moving within a slot, or a new schedule, changes the slot itself
  (b, a) =>
    !b || !a || b.slot !== a.slot || b.position !== a.position || b.startsAt !== a.startsAt || b.endsAt !== a.endsAt
      ? [...new Set([b?.slot, a?.slot].filter((s): s is Block['slot'] => !!s))].map((s) => `slot:${s}`)
      : [],
]

const NAV_RULES: Array<Rule<Nav>> = [() => ['nav']]

function apply<T>(rules: Array<Rule<T>>, event: ChangeEvent, now: Date): string[] {
  return rules.flatMap((rule) => rule(event.before as T | undefined, event.after as T | undefined, now))
}

export function keysForEvent(event: ChangeEvent, now: Date = new Date()): string[] {
  let keys: string[]
  switch (event.kind) {
    case 'article':
      keys = apply(ARTICLE_RULES, event, now)
      break
    case 'section':
      keys = apply(SECTION_RULES, event, now)
      break
    case 'block':
      keys = apply(BLOCK_RULES, event, now)
      break
    case 'nav':
      keys = apply(NAV_RULES, event, now)
      break
  }
  return [...new Set(keys)]
}
