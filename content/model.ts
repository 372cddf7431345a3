// The content model every service shares. Records are plain JSON; validation lives in validate.ts.

export interface Section {
  slug: string // url-safe id: /sections/:slug
  title: string
  description?: string
  position: number // order in nav
}

export interface Article {
  id: string // stable id, [a-z0-9-]{1,64}
  slug: string // /articles/:slug, unique across articles
  title: string
  section: string // Section.slug
  body: string // plain text paragraphs separated by blank lines; rendered escaped
  summary?: string
  author?: string
  publishedAt?: string // ISO 8601; absent = draft (not listed, not served)
  updatedAt: string // ISO 8601, set by the repository on every write
  views?: number // popularity, drives the "most read" list
}

export type BlockSlot = 'nav' | 'sidebar' | 'main'
export const BLOCK_SLOTS: readonly BlockSlot[] = ['nav', 'sidebar', 'main']

export type BlockKind = 'text' | 'html' | 'snippet'

/**
 * Where a block shows: every page (`site`), a section's pages and its articles' pages (`section:<slug>`), one
 * article's page (`article:<id>`), or a hub page where one of its `blocks` modules places it (`hub:<slug>`).
 */
export type BlockScopeKind = 'section' | 'article' | 'hub'
export const BLOCK_SCOPE_KINDS: readonly BlockScopeKind[] = ['section', 'article', 'hub']
export type BlockScope = 'site' | `${BlockScopeKind}:${string}`

/** A block's scope; a block stored before scopes existed is a site block. */
export const scopeOf = (block: Pick<Block, 'scope'>): BlockScope => block.scope ?? 'site'

export interface Block {
  id: string
  slot: BlockSlot
  kind: BlockKind // text: escaped; html: sanitised of <esi: and <script; snippet: Handlebars, no prototype access
  content: string
  position: number // ascending order within the slot
  scope?: BlockScope // absent: site (records written before scopes)
  draft?: boolean // true: only a preview shows it
  startsAt?: string // ISO 8601: hidden before
  endsAt?: string // ISO 8601: hidden from then on
  updatedAt: string
}

export interface NavEntry {
  label: string
  href: string // site-relative path ("/sections/news") or https:// URL
}

export interface Nav {
  entries: NavEntry[]
  updatedAt: string
}

/** Where an article-list module takes its articles: the latest, one section's latest, or an editor's picks. */
export type ArticleListSource = 'latest' | 'picks' | `section:${string}`

/** One module of a hub page: each is one include of its own. */
export type HubModule =
  | { kind: 'blocks'; slot: BlockSlot } // the hub's own blocks (scope hub:<slug>) of a slot
  | { kind: 'article-list'; source: ArticleListSource; ids?: string[]; limit: number } // ids: the picks, in order
  | { kind: 'article-teaser'; id: string }
  | { kind: 'html'; content: string } // editor HTML, neutralised like an HTML block

export type HubModuleKind = HubModule['kind']
export const HUB_MODULE_KINDS: readonly HubModuleKind[] = ['blocks', 'article-list', 'article-teaser', 'html']

/** An editor-built page at /hubs/:slug. */
export interface Hub {
  slug: string
  title: string
  description?: string
  modules: HubModule[]
  startsAt?: string // ISO 8601: a 404 before
  endsAt?: string // ISO 8601: a 404 from then on
  draft?: boolean // true: only a preview shows it
  updatedAt: string
}

export type EntityKind = 'article' | 'section' | 'block' | 'nav' | 'hub'

/**
 * A change event, written to the Redis stream `tessera:events` in the same MULTI/EXEC as the record.
 * `before` / `after` are the record before and after the change (absent when created / deleted), so the
 * purge service can tell what a change entered or left (a section, a slot, the published lists).
 */
export interface ChangeEvent {
  kind: EntityKind
  id: string // article id, section slug, block id, hub slug, or "nav"
  op: 'put' | 'delete'
  at: string // ISO 8601
  before?: Article | Section | Block | Nav | Hub
  after?: Article | Section | Block | Nav | Hub
}

/**
 * Many changes in one stream entry: a bulk import writes one per batch (one MULTI/EXEC), so the purge service
 * purges the union of their keys once per batch, not once per record. Each change is a whole ChangeEvent.
 */
export interface BatchEvent {
  kind: 'batch'
  at: string // ISO 8601
  changes: ChangeEvent[]
}

/** What a `tessera:events` entry's `event` field holds. */
export type StreamEvent = ChangeEvent | BatchEvent

/** The changes a stream entry carries: itself, or a batch's changes. Readers of the stream go through this. */
export function changesOf(event: StreamEvent): ChangeEvent[] {
  return event.kind === 'batch' ? event.changes : [event]
}

export const EVENTS_STREAM = 'tessera:events'
