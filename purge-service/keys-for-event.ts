// A content change -> the keys of exactly the objects whose bytes it changes (cache/content-keys.ts
// names them by what each object shows). Table-driven: each rule names the keys one aspect of a change calls
// for, from the event's before and after. Article lists also need the lists as they are now: which articles
// sort before this one decides whether it enters, leaves or moves within the first N (keysForChange reads them).
import { scopeOf, type Article, type Block, type ChangeEvent, type Hub, type Nav, type Section } from '../content/model.js'
import {
  ARTICLE_SHOWS,
  type ArticleView,
  articleKey,
  articleSlugKey,
  blockKey,
  hubKey,
  hubModuleKey,
  isPublished,
  type ListName,
  listKey,
  listLengths,
  NAV_KEY,
  NAV_SECTIONS_KEY,
  rankKey,
  sectionKey,
  sectionList,
  sectionTitleKey,
  slotKey,
} from '../cache/content-keys.js'

/** Each list as the content store gives it now, first `length` articles (what a render would show). */
export type ListsNow = ReadonlyMap<ListName, Article[]>

export interface ListReader {
  list(list: ListName, length: number): Promise<Article[]>
}

type Rule<T> = (before: T | undefined, after: T | undefined, now: Date, lists?: ListsNow) => string[]

const changed = <T>(before: T | undefined, after: T | undefined, field: keyof T): boolean => before?.[field] !== after?.[field]
const shownChanged = (b: Article, a: Article, view: ArticleView) => ARTICLE_SHOWS[view].some((f) => changed(b, a, f))

/** An object showing `view` of the article changes: it is listed before and after and a field it shows changed. */
const view =
  (name: ArticleView): Rule<Article> =>
  (b, a, now) =>
    isPublished(b, now) && isPublished(a, now) && shownChanged(b, a, name) ? [articleKey(name, a.id)] : []

// ------------------------------------------------------------------------------------------------ the lists

/** Whether an article is in a list's scope, and its place among the others (the store's order: ZREVRANGE). */
function inScope(list: ListName, a: Article | undefined, now: Date): a is Article {
  if (!isPublished(a, now)) return false
  return list === 'latest' || list === 'popular' || list === sectionList(a.section)
}
const score = (list: ListName, a: Article) => (list === 'popular' ? (a.views ?? 0) : Date.parse(a.publishedAt!))
/** Sorts before: the higher score, then (Redis' order for equal scores, reversed) the greater id. */
const before = (list: ListName, x: Article, y: Article) => score(list, x) > score(list, y) || (score(list, x) === score(list, y) && x.id > y.id)

/** The place (from 0) of the article's state `a` among the list's other articles now; Infinity: not shown by any. */
function rankAmong(list: ListName, a: Article | undefined, now: Date, others: Article[]): number {
  if (!inScope(list, a, now)) return Infinity
  const rank = others.filter((o) => before(list, o, a)).length
  return rank >= Math.max(...listLengths(list)) ? Infinity : rank
}

const sortChanged = (list: ListName, b: Article | undefined, a: Article | undefined, now: Date) =>
  inScope(list, b, now) !== inScope(list, a, now) || (inScope(list, b, now) && inScope(list, a, now) && score(list, b) !== score(list, a))

/** The lists a change of this article can re-order: those it was or is in the scope of. */
export function listsTouched(b: Article | undefined, a: Article | undefined, now: Date): ListName[] {
  const sections = [...new Set([b?.section, a?.section].filter((s): s is string => !!s))].map(sectionList)
  return (['latest', 'popular', ...sections] as ListName[]).filter((list) => sortChanged(list, b, a, now))
}

/**
 * One list: the objects showing its first N change when the article enters or leaves them or moves within
 * them (`list:<list>.<N>`, from its place before and after among the others as they are now); and any object
 * that still shows it at a place it no longer has (`in-<list>:<rank>.<id>`: what was cached, whatever happened
 * to the others meanwhile; for an article that was in its scope and is near its top by the store). Without the
 * lists (`lists` undefined) every length of the list is purged.
 */
function listRule(list: ListName, b: Article | undefined, a: Article | undefined, now: Date, lists?: ListsNow): string[] {
  const id = (a ?? b)!.id
  const lengths = listLengths(list)
  const longest = Math.max(...lengths)
  // Places it could be cached at: only an article that was in the list's scope before (a new or just published
  // one is in no cached list), and only near the top (an import of thousands of old articles names no places).
  const places = (except: number) => (inScope(list, b, now) ? Array.from({ length: longest }, (_, r) => r).filter((r) => r !== except).map((r) => rankKey(list, r, id)) : [])
  const current = lists?.get(list)
  if (!current) return [...lengths.map((n) => listKey(list, n)), ...places(-1)]
  const others = current.filter((o) => o.id !== id)
  const found = current.findIndex((o) => o.id === id)
  const rankAfter = inScope(list, a, now) && found !== -1 && found < longest ? found : rankAmong(list, a, now, others)
  const rankBefore = rankAmong(list, b, now, others)
  const keys: string[] = []
  if (rankAfter !== rankBefore) for (const n of lengths) if (Math.min(rankAfter, rankBefore) < n) keys.push(listKey(list, n))
  if (Math.min(rankAfter, rankBefore) < longest) keys.push(...places(rankAfter))
  return keys
}

const ARTICLE_RULES: Array<Rule<Article>> = [
  // its body fragment: any field it shows, or it appears / disappears (a 404 then)
  (b, a, now) => {
    const id = (a ?? b)!.id
    if (isPublished(b, now) !== isPublished(a, now)) return [articleKey('body', id)]
    return isPublished(b, now) && isPublished(a, now) && shownChanged(b, a, 'body') ? [articleKey('body', id)] : []
  },
  // its page's shell (title, description), each front's teaser, each sidebar entry
  view('head'),
  view('teaser'),
  view('link'),
  // the page at each slug it had or has: a page there, or a cached 404, and which
  (b, a, now) => {
    const at = (slug: string, x: Article | undefined) => (isPublished(x, now) && x.slug === slug ? x.id : undefined)
    return [...new Set([b?.slug, a?.slug].filter((s): s is string => !!s))].filter((s) => at(s, b) !== at(s, a)).map(articleSlugKey)
  },
  // the lists it enters, leaves or moves in (published, unpublished, deleted, re-dated, moved, read)
  (b, a, now, lists) => listsTouched(b, a, now).flatMap((list) => listRule(list, b, a, now, lists)),
]

const SECTION_RULES: Array<Rule<Section>> = [
  // the section page: heading and description; a new or removed section replaces a page or a 404
  (b, a) => (!b || !a || changed(b, a, 'title') || changed(b, a, 'description') ? [sectionKey((a ?? b)!.slug)] : []),
  // article bodies show the section's title
  (b, a) => (!b || !a || changed(b, a, 'title') ? [sectionTitleKey((a ?? b)!.slug)] : []),
  // the fallback nav lists the sections: their titles, in order
  (b, a) => (!b || !a || changed(b, a, 'title') || changed(b, a, 'position') ? [NAV_SECTIONS_KEY] : []),
]

const BLOCK_RULES: Array<Rule<Block>> = [
  (b, a) => [blockKey((a ?? b)!.id)],
  // entering, leaving or moving within a slot's blocks for a scope (a new slot or scope: both), or a new
  // schedule, or a draft published, changes what that (slot, scope) shows: only the pages of that scope include it
  (b, a) =>
    !b || !a || b.slot !== a.slot || scopeOf(b) !== scopeOf(a) || b.position !== a.position || b.draft !== a.draft || b.startsAt !== a.startsAt || b.endsAt !== a.endsAt
      ? [b, a].filter((x): x is Block => !!x).map((x) => slotKey(x.slot, scopeOf(x)))
      : [],
]

const NAV_RULES: Array<Rule<Nav>> = [() => [NAV_KEY]]

/** Whether readers may see it and until when: a change of these replaces a page by a 404 or back, everywhere. */
const visibilityChanged = (b: Hub | undefined, a: Hub | undefined) => !b || !a || changed(b, a, 'draft') || changed(b, a, 'startsAt') || changed(b, a, 'endsAt')
const moduleCount = (b: Hub | undefined, a: Hub | undefined) => Math.max(b?.modules.length ?? 0, a?.modules.length ?? 0)

const HUB_RULES: Array<Rule<Hub>> = [
  // the shell: its title and description, which modules it includes (their number), whether it is shown
  (b, a) =>
    visibilityChanged(b, a) || changed(b, a, 'title') || changed(b, a, 'description') || b!.modules.length !== a!.modules.length ? [hubKey((a ?? b)!.slug)] : [],
  // each module whose definition changed (a move within the list changes both places); shown or hidden: all
  (b, a) => {
    const slug = (a ?? b)!.slug
    const indexes = Array.from({ length: moduleCount(b, a) }, (_, n) => n)
    const differs = (n: number) => JSON.stringify(b?.modules[n]) !== JSON.stringify(a?.modules[n])
    return indexes.filter((n) => visibilityChanged(b, a) || differs(n)).map((n) => hubModuleKey(slug, n))
  },
]

function apply<T>(rules: Array<Rule<T>>, event: ChangeEvent, now: Date, lists?: ListsNow): string[] {
  return rules.flatMap((rule) => rule(event.before as T | undefined, event.after as T | undefined, now, lists))
}

/**
 * The keys to purge for one change. `lists`: the article lists as they are now (see keysForChange); without
 * them, a change that re-sorts a list purges every object showing that list.
 */
export function keysForEvent(event: ChangeEvent, now: Date = new Date(), lists?: ListsNow): string[] {
  let keys: string[]
  switch (event.kind) {
    case 'article':
      keys = apply(ARTICLE_RULES, event, now, lists)
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
    case 'hub':
      keys = apply(HUB_RULES, event, now)
      break
  }
  return [...new Set(keys)]
}

/** keysForEvent with the lists it needs read from the content store now (one read per list it re-sorts). */
export async function keysForChange(event: ChangeEvent, reader: ListReader, now: Date = new Date()): Promise<string[]> {
  if (event.kind !== 'article') return keysForEvent(event, now)
  const touched = listsTouched(event.before as Article | undefined, event.after as Article | undefined, now)
  const lists = new Map<ListName, Article[]>()
  // One more than the longest: its place among the others stays known when it is itself in the list.
  await Promise.all(touched.map(async (list) => lists.set(list, await reader.list(list, Math.max(...listLengths(list)) + 1))))
  return keysForEvent(event, now, lists)
}

/** Reads each list once: the changes handled together (a batch, an import) all meet the store as it is now. */
export function readOnce(reader: ListReader): ListReader {
  const seen = new Map<string, Promise<Article[]>>()
  return {
    list: (list, length) => {
      const key = `${list} ${length}`
      if (!seen.has(key)) seen.set(key, reader.list(list, length))
      return seen.get(key)!
    },
  }
}

/** The content store's lists, as the fragments read them. */
export function contentLists(content: { listLatest(limit: number, opts?: { section?: string }): Promise<Article[]>; listPopular(limit: number): Promise<Article[]> }): ListReader {
  return {
    list: (list, length) =>
      list === 'popular' ? content.listPopular(length) : content.listLatest(length, list === 'latest' ? {} : { section: list.slice('section-'.length) }),
  }
}
