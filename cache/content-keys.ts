// The surrogate keys of what an object shows of the content, named by what it shows: the renders tag their
// objects with these, and purge-service/keys-for-event.ts purges exactly the ones a change touches.
import type { Article, BlockScope, BlockSlot } from '../content/model.js'

/** Readers see an article from its publishedAt on: what the renders show and what the purges follow. */
export const isPublished = (article: Article | undefined, now: Date): article is Article =>
  !!article?.publishedAt && Date.parse(article.publishedAt) <= now.getTime()

/**
 * The article fields each kind of object shows. Its key is purged when one of them changes (and when the
 * article appears or disappears there: publishing, unpublishing, deleting).
 */
export const ARTICLE_SHOWS = {
  /** The body fragment (`article:<id>`): everything but the slug and the read count. */
  body: ['title', 'summary', 'author', 'publishedAt', 'body', 'section'],
  /** The article page's shell (`article-head:<id>`): its title and description, and its section's block includes. */
  head: ['title', 'summary', 'section'],
  /** A front's teaser (`article-teaser:<id>`): link, title, summary, date. */
  teaser: ['slug', 'title', 'summary', 'publishedAt'],
  /** A sidebar entry (`article-link:<id>`): link and title. */
  link: ['slug', 'title'],
} as const satisfies Record<string, ReadonlyArray<keyof Article>>

export type ArticleView = keyof typeof ARTICLE_SHOWS

const VIEW_KEY: Record<ArticleView, string> = { body: 'article', head: 'article-head', teaser: 'article-teaser', link: 'article-link' }

/** The key of an object showing `view` of article `id`: `article:<id>`, `article-head:<id>`, ... */
export const articleKey = (view: ArticleView, id: string): string => `${VIEW_KEY[view]}:${id}`

/** Every object showing anything of the article (an editor's "purge this article"). */
export const everyArticleKey = (id: string): string[] => (Object.keys(ARTICLE_SHOWS) as ArticleView[]).map((view) => articleKey(view, id))

/** The article page at a slug (a page, or a cached 404 there). */
export const articleSlugKey = (slug: string): string => `article-slug:${slug}`

/** The section page (its heading and description; a cached 404 for a missing section). */
export const sectionKey = (slug: string): string => `section:${slug}`
/** Article bodies show their section's title. */
export const sectionTitleKey = (slug: string): string => `section-title:${slug}`

/** The nav as editors made it (`nav`); the fallback nav that lists the sections also carries NAV_SECTIONS_KEY. */
export const NAV_KEY = 'nav'
export const NAV_SECTIONS_KEY = 'nav-sections'

// ---------------------------------------------------------------------------------------------- article lists

/** latest: every section, newest first; popular: most read first; section-<slug>: one section, newest first. */
export type ListName = 'latest' | 'popular' | `section-${string}`

export const FRONT_LENGTH = 12
export const SIDEBAR_LENGTH = 5

/** How many articles each object showing a list shows (the fronts and the sidebar): their keys name it. */
export function listLengths(list: ListName): number[] {
  if (list === 'latest') return [FRONT_LENGTH, SIDEBAR_LENGTH]
  if (list === 'popular') return [SIDEBAR_LENGTH]
  return [FRONT_LENGTH]
}

export const sectionList = (slug: string): ListName => `section-${slug}`

/** Every object showing the first `length` articles of `list`: purged when that top changes its members or order. */
export const listKey = (list: ListName, length: number): string => `list:${list}.${length}`

/** Objects showing article `id` at position `rank` (from 0) of `list`: purged when it is no longer there. */
export const rankKey = (list: ListName, rank: number, id: string): string => `in-${list}:${rank}.${id}`

/** The keys of an object showing `articles`, in order, as the first `length` of `list`, each as `view`. */
export function listKeys(list: ListName, length: number, articles: Article[], view: 'teaser' | 'link'): string[] {
  return [listKey(list, length), ...articles.flatMap((a, rank) => [articleKey(view, a.id), rankKey(list, rank, a.id)])]
}

/** Every object showing anything of the section: its page, the bodies showing its title, its front, the nav listing sections. */
export const everySectionKey = (slug: string): string[] => [
  sectionKey(slug),
  sectionTitleKey(slug),
  ...listLengths(sectionList(slug)).map((n) => listKey(sectionList(slug), n)),
  NAV_SECTIONS_KEY,
]

// ------------------------------------------------------------------------------------------ blocks and hubs

/** Every object showing the block (its slot's include for its scope, a hub's blocks module). */
export const blockKey = (id: string): string => `block:${id}`

/**
 * Every object showing which blocks a slot has for one scope and in what order: `slot:<slot>` for the site's
 * (as before scopes), `slot:<slot>.<kind>.<id>` for a section's, an article's or a hub's.
 */
export const slotKey = (slot: BlockSlot, scope: BlockScope): string => (scope === 'site' ? `slot:${slot}` : `slot:${slot}.${scope.replace(':', '.')}`)

/** A hub page's shell: its title, description, schedule and how many modules it has (a cached 404 too). */
export const hubKey = (slug: string): string => `hub:${slug}`

/** The include of a hub's module at `index` (from 0): what that module is. */
export const hubModuleKey = (slug: string, index: number): string => `module:${slug}.${index}`
