// The content store: records and their indexes in Redis, and one change event per write, all in one MULTI/EXEC.
//
// Write protocol (every put/delete):  WATCH the keys the decision depends on -> read `before` (and what the
// rules need) -> MULTI: record + indexes + XADD tessera:events -> EXEC. If a watched key changed meanwhile,
// EXEC does nothing and the write starts over (bounded). WATCH belongs to a connection, so the writes that
// share one ioredis client are queued one at a time (see `writeQueues`); writers on other connections or in
// other processes are kept apart by WATCH itself.
import { createHash } from 'node:crypto'
import type { ChainableCommander, Redis } from 'ioredis'
import { Conflict, InvalidInput, NotFound, PreconditionFailed, TesseraError } from '../platform/errors.js'
import { confirmReplicated, storeError } from '../platform/redis.js'
import { BLOCK_SLOTS, EVENTS_STREAM, scopeOf, type Article, type Block, type BlockScope, type BlockSlot, type ChangeEvent, type Hub, type Nav, type Section, type StreamEvent } from './model.js'
import {
  fromEcho,
  ID_PATTERN,
  mergePatch,
  validateArticleInput,
  validateBlockInput,
  validateHubInput,
  validateId,
  validateNavInput,
  validatePatch,
  validateSectionInput,
  type ArticleInput,
  type BlockInput,
  type HubInput,
  type NavInput,
  type SectionInput,
} from './validate.js'

/** The Redis key layout. Every key the content store uses is built here. */
export const contentKeys = Object.freeze({
  article: (id: string) => `tessera:article:${id}`, // string: Article JSON
  articleSlugs: 'tessera:articles:slug', // hash: slug -> article id (slugs are unique)
  articleHeadlines: 'tessera:articles:headline', // hash: id -> {"slug","title"} JSON (search without loading bodies)
  // zset: every article (drafts too), all scores 0, member "<updatedAt ms, 15 digits>:<id>": lex order is update
  // order, so a cursor (the last member seen) pages exactly with ZREVRANGEBYLEX
  articlesByUpdate: 'tessera:articles:updated-lex',
  searchWords: 'tessera:search:words', // zset: all scores 0, member "<word> <article id>" for each word of id, slug, title
  indexVersion: 'tessera:indexes:version', // string: INDEX_VERSION once the indexes above are built for every article (and scopedBlocks for every block)
  articlesPublished: 'tessera:articles:published', // zset: published articles, score publishedAt ms
  articlesByViews: 'tessera:articles:views', // zset: published articles, score views
  sectionPublished: (slug: string) => `tessera:articles:section:${slug}`, // zset: published in section, score publishedAt ms
  sectionMembers: (slug: string) => `tessera:articles:section-all:${slug}`, // set: every article id in section (drafts too)
  section: (slug: string) => `tessera:section:${slug}`, // string: Section JSON
  sections: 'tessera:sections', // zset: section slugs, score position (ties: slug order)
  block: (id: string) => `tessera:block:${id}`, // string: Block JSON
  slotBlocks: (slot: BlockSlot) => `tessera:blocks:${slot}`, // zset: block ids, score position (ties: id order)
  scopedBlocks: (slot: BlockSlot, scope: BlockScope) => `tessera:blocks:${slot}@${scope}`, // zset: the slot's blocks of one scope, as slotBlocks
  nav: 'tessera:nav', // string: Nav JSON
  hub: (slug: string) => `tessera:hub:${slug}`, // string: Hub JSON
  hubs: 'tessera:hubs', // zset: hub slugs, all scores 0 (slug order)
  events: EVENTS_STREAM, // stream: one entry per write, field `event` = ChangeEvent JSON
})

const MAX_WRITE_ATTEMPTS = 25
const MAX_LIST = 1_000
/** Index ranges a search reads at most (max(100, 4 x limit) entries, doubling up to 1600) before answering with what it found. */
const SEARCH_MAX_ROUNDS = 20
/** The layout of the indexes ensureIndexes builds; bump it when they change. */
export const INDEX_VERSION = '3'
/** The pre-version-2 update index (zset, score updatedAt ms, member id), migrated by ensureIndexes. */
const LEGACY_ARTICLES_BY_UPDATE = 'tessera:articles:updated'

export interface PutResult<T> {
  record: T
  created: boolean
  /** The saved record's strong ETag (what a GET of it now answers). */
  etag: string
}

/** A write's conditions, from If-Match / If-None-Match; checked under WATCH, so race-free. */
export interface Preconditions {
  /** The record must exist and, unless '*', its ETag must be one of these. */
  ifMatch?: '*' | string[]
  /** '*': the record must not exist (create only); a list: its ETag must be none of these. */
  ifNoneMatch?: '*' | string[]
}

export interface SearchHit {
  kind: 'article' | 'section' | 'block'
  id: string
  title: string
}

/** What a write decided after reading under WATCH: its result, and (unless it is a no-op) what to commit. */
interface WritePlan<T> {
  result: T
  commit?: { apply: (tx: ChainableCommander) => void; event: StreamEvent }
}

/** One validated line of a bulk import. */
export type ImportItem =
  | { kind: 'article'; id: string; input: ArticleInput }
  | { kind: 'section'; id: string; input: SectionInput }
  | { kind: 'block'; id: string; input: BlockInput }

export type ImportOutcome = { result: 'created' | 'updated' } | { result: 'error'; error: TesseraError }

// One write queue per Redis connection: a WATCH issued by one write must not be cleared by another's EXEC.
const writeQueues = new WeakMap<Redis, Promise<unknown>>()
// Connection generations: a reconnect drops the server-side WATCH, so a plan made across one is not committed.
const generations = new WeakMap<Redis, { n: number }>()
function generationOf(redis: Redis): { n: number } {
  let g = generations.get(redis)
  if (g === undefined) {
    const counter = { n: 0 }
    redis.on('close', () => counter.n++)
    generations.set(redis, counter)
    g = counter
  }
  return g
}

export class ContentRepository {
  private readonly generation: { n: number }

  constructor(private readonly redis: Redis) {
    this.generation = generationOf(redis)
  }

  // ---- reads ---------------------------------------------------------------------------------------------

  async getArticle(id: string): Promise<Article | undefined> {
    if (!ID_PATTERN.test(id)) return undefined
    return this.getJson<Article>(contentKeys.article(id))
  }

  /** Any article with that slug, drafts and future-dated ones included: callers decide what to show. */
  async getArticleBySlug(slug: string): Promise<Article | undefined> {
    if (!ID_PATTERN.test(slug)) return undefined
    const id = await this.store(() => this.redis.hget(contentKeys.articleSlugs, slug))
    return id === null ? undefined : this.getArticle(id)
  }

  /** Published articles with publishedAt <= now, newest first; optionally only one section's. */
  async listLatest(limit: number, opts: { section?: string } = {}): Promise<Article[]> {
    const n = boundedLimit(limit)
    if (n === 0) return []
    let key: string = contentKeys.articlesPublished
    if (opts.section !== undefined) {
      if (!ID_PATTERN.test(opts.section)) return []
      key = contentKeys.sectionPublished(opts.section)
    }
    const ids = await this.store(() => this.redis.zrevrangebyscore(key, Date.now(), '-inf', 'LIMIT', 0, n))
    return this.getMany<Article>(ids.map(contentKeys.article))
  }

  /** Published articles (publishedAt <= now), most viewed first. */
  async listPopular(limit: number): Promise<Article[]> {
    const n = boundedLimit(limit)
    const out: Article[] = []
    const batch = Math.max(n * 2, 20)
    for (let start = 0; out.length < n; start += batch) {
      const ids = await this.store(() => this.redis.zrevrange(contentKeys.articlesByViews, start, start + batch - 1))
      const now = Date.now()
      for (const a of await this.getMany<Article>(ids.map(contentKeys.article))) {
        if (a.publishedAt !== undefined && Date.parse(a.publishedAt) <= now && out.length < n) out.push(a)
      }
      if (ids.length < batch) break
    }
    return out
  }

  /**
   * Every article, drafts included, most recently updated first (ties: higher id first). Paged by `cursor`
   * (the `next` of the previous page: stable while articles change, O(log n) at any depth) or by `offset`
   * (kept for existing clients; also O(log n) in Redis, but a write between two pages shifts them).
   */
  async listArticles(page: { offset?: number; cursor?: string; limit: number }): Promise<{ items: Article[]; total: number; next: string | null }> {
    const n = boundedLimit(page.limit)
    const k = contentKeys.articlesByUpdate
    let members: Promise<string[]>
    if (page.cursor !== undefined) {
      const after = decodeCursor(page.cursor)
      members = n === 0 ? Promise.resolve([]) : this.redis.zrevrangebylex(k, `(${after}`, '-', 'LIMIT', 0, n)
    } else {
      const offset = page.offset ?? 0
      if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidInput('offset', 'must be an integer >= 0')
      members = n === 0 ? Promise.resolve([]) : this.redis.zrevrange(k, offset, offset + n - 1)
    }
    const [found, total] = await this.store(() => Promise.all([members, this.redis.zcard(k)]))
    const items = await this.getMany<Article>(found.map((m) => contentKeys.article(m.slice(m.indexOf(':') + 1))))
    return { items, total, next: found.length === n && n > 0 ? encodeCursor(found[found.length - 1]!) : null }
  }

  /**
   * Search for the editor console: sections (slug, title, substring), articles (every word of the query
   * starts a word of the id, slug or title: "harb" finds "Harbour"; from the Redis word index
   * `tessera:search:words`, not a scan) and blocks (id, content, substring), in that order, at most `limit`
   * hits, case- and accent-insensitive. Article bodies are not searched.
   */
  async search(query: string, limit: number): Promise<SearchHit[]> {
    const n = boundedLimit(limit)
    const q = query.trim().toLowerCase()
    if (q === '' || n === 0) return []
    const has = (...texts: string[]) => texts.some((t) => t.toLowerCase().includes(q))

    const hits: SearchHit[] = []
    for (const s of await this.listSections()) {
      if (has(s.slug, s.title)) hits.push({ kind: 'section', id: s.slug, title: s.title })
    }
    if (hits.length < n) {
      const articleHits = await this.searchArticles(searchWords(q), n - hits.length)
      articleHits.sort((a, b) => a.title.localeCompare(b.title) || a.id.localeCompare(b.id))
      hits.push(...articleHits)
    }
    if (hits.length < n) {
      for (const b of await this.listBlocks()) {
        if (has(b.id, b.content)) hits.push({ kind: 'block', id: b.id, title: `${b.slot} ${b.kind}: ${excerpt(b.content)}` })
      }
    }
    return hits.slice(0, n)
  }

  /** Articles whose words start with every query word: the rarest query word's index range, checked for the rest. */
  private async searchArticles(words: string[], n: number): Promise<SearchHit[]> {
    if (words.length === 0) return []
    const range = (w: string): [string, Buffer] => [`[${w}`, Buffer.concat([Buffer.from(`[${w}`), Buffer.from([0xff])])]
    // the word with the fewest index entries drives (ZLEXCOUNT is O(log n)); the others are checked per hit
    const counts = words.length === 1 ? [0] : await this.store(() => Promise.all(words.map((w) => this.redis.zlexcount(contentKeys.searchWords, ...range(w)))))
    const driver = words[counts.indexOf(Math.min(...counts))]!
    const others = words.filter((w) => w !== driver)
    const hits: SearchHit[] = []
    const seen = new Set<string>()
    let page = Math.max(100, n * 4) // one word: every entry in its range is a hit; several: read more each round
    let [from, to]: [string | Buffer, Buffer] = range(driver)
    for (let round = 0; round < SEARCH_MAX_ROUNDS && hits.length < n; round++) {
      const entries: string[] = await this.store(() => this.redis.zrangebylex(contentKeys.searchWords, from, to, 'LIMIT', 0, page))
      const ids = [...new Set(entries.map((e) => e.slice(e.indexOf(' ') + 1)))].filter((id) => !seen.has(id))
      ids.forEach((id) => seen.add(id))
      if (ids.length > 0) {
        const heads = await this.store(() => this.redis.hmget(contentKeys.articleHeadlines, ...ids))
        heads.forEach((json, i) => {
          if (json === null || hits.length >= n) return
          const { slug, title } = JSON.parse(json) as { slug: string; title: string }
          const own = articleWords({ id: ids[i]!, slug, title })
          if (others.every((w) => own.some((o) => o.startsWith(w)))) hits.push({ kind: 'article', id: ids[i]!, title })
        })
      }
      if (entries.length < page) break
      from = `(${entries[entries.length - 1]}`
      page = Math.min(page * 2, 1600)
    }
    return hits
  }

  async getSection(slug: string): Promise<Section | undefined> {
    if (!ID_PATTERN.test(slug)) return undefined
    return this.getJson<Section>(contentKeys.section(slug))
  }

  /** Sections by position (ties by slug). */
  async listSections(): Promise<Section[]> {
    const slugs = await this.store(() => this.redis.zrange(contentKeys.sections, 0, -1))
    return this.getMany<Section>(slugs.map(contentKeys.section))
  }

  async getBlock(id: string): Promise<Block | undefined> {
    if (!ID_PATTERN.test(id)) return undefined
    return this.getJson<Block>(contentKeys.block(id))
  }

  /** One slot's blocks, or every slot's, by position then id. Scheduling (startsAt/endsAt) is the reader's call. */
  async listBlocks(slot?: BlockSlot): Promise<Block[]> {
    const slots = slot === undefined ? BLOCK_SLOTS : BLOCK_SLOTS.filter((s) => s === slot)
    if (slots.length === 0) throw new InvalidInput('slot', `must be one of ${BLOCK_SLOTS.join(', ')}`)
    const ids = (await this.store(() => Promise.all(slots.map((s) => this.redis.zrange(contentKeys.slotBlocks(s), 0, -1))))).flat()
    const blocks = await this.getMany<Block>(ids.map(contentKeys.block))
    return slots.length === 1 ? blocks : blocks.sort((a, b) => a.position - b.position || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  }

  /** The blocks one page shows in a slot for one scope, by position then id. Scheduling is the reader's call. */
  async listScopedBlocks(slot: BlockSlot, scope: BlockScope): Promise<Block[]> {
    const ids = await this.store(() => this.redis.zrange(contentKeys.scopedBlocks(slot, scope), 0, -1))
    return this.getMany<Block>(ids.map(contentKeys.block))
  }

  async getHub(slug: string): Promise<Hub | undefined> {
    if (!ID_PATTERN.test(slug)) return undefined
    return this.getJson<Hub>(contentKeys.hub(slug))
  }

  /** Every hub, drafts and scheduled ones included, by slug. */
  async listHubs(): Promise<Hub[]> {
    const slugs = await this.store(() => this.redis.zrange(contentKeys.hubs, 0, -1))
    return this.getMany<Hub>(slugs.map(contentKeys.hub))
  }

  async getNav(): Promise<Nav | undefined> {
    return this.getJson<Nav>(contentKeys.nav)
  }

  /** True when there is no section, article, block or nav at all (a fresh store, ready for the demo seed). */
  async isEmpty(): Promise<boolean> {
    const keys = [contentKeys.sections, contentKeys.articlesByUpdate, contentKeys.nav, ...BLOCK_SLOTS.map(contentKeys.slotBlocks)]
    return (await this.store(() => this.redis.exists(...keys))) === 0
  }

  /**
   * Builds the update and search indexes for every article when the store's indexes are older than
   * INDEX_VERSION (a store written before them); a no-op otherwise. Idempotent; content writes keep them up
   * to date from then on. Called by the content API at start and before seeding.
   */
  async ensureIndexes(): Promise<{ rebuilt: boolean; articles: number }> {
    const k = contentKeys
    if ((await this.store(() => this.redis.get(k.indexVersion))) === INDEX_VERSION) return { rebuilt: false, articles: 0 }
    let cursor = '0'
    let articles = 0
    do {
      const [next, flat] = await this.store(() => this.redis.hscan(k.articleHeadlines, cursor, 'COUNT', 500))
      cursor = next
      const ids = flat.filter((_, i) => i % 2 === 0)
      const records = await this.getMany<Article>(ids.map(k.article))
      if (records.length > 0) {
        const tx = this.redis.pipeline()
        for (const a of records) {
          tx.zadd(k.articlesByUpdate, 0, updateMember(a))
          tx.zadd(k.searchWords, ...articleWords(a).flatMap((w) => [0, `${w} ${a.id}`]))
        }
        await this.store(() => tx.exec())
        articles += records.length
      }
    } while (cursor !== '0')
    const blocks = await this.listBlocks()
    if (blocks.length > 0) {
      const tx = this.redis.pipeline()
      for (const b of blocks) tx.zadd(k.scopedBlocks(b.slot, scopeOf(b)), b.position, b.id)
      await this.store(() => tx.exec())
    }
    await this.store(() => this.redis.multi().del(LEGACY_ARTICLES_BY_UPDATE).set(k.indexVersion, INDEX_VERSION).exec())
    return { rebuilt: true, articles }
  }

  // ---- writes --------------------------------------------------------------------------------------------
  //
  // Every write takes optional Preconditions (the API's If-Match / If-None-Match). They are checked against the
  // record read under WATCH, so a condition that held is still true at EXEC (or the write starts over and
  // checks again): two editors sending the same ETag cannot both win. Without preconditions the last write wins.

  /** Create or replace an article. The slug must be free (409 `slug`) and the section must exist (400 `section`). */
  async putArticle(id: string, raw: ArticleInput | unknown, conditions?: Preconditions): Promise<PutResult<Article>> {
    validateId('id', id)
    return this.saveArticle(id, { input: validateArticleInput(fromEcho(raw, 'id', id)) }, conditions)
  }

  /** Change only the fields a JSON merge patch (RFC 7396) names; the result is validated as a whole. 404 when absent. */
  async patchArticle(id: string, patch: unknown, conditions?: Preconditions): Promise<PutResult<Article>> {
    validateId('id', id)
    return this.saveArticle(id, { patch: validatePatch(patch) }, conditions)
  }

  private async saveArticle(id: string, change: { input: ArticleInput } | { patch: Record<string, unknown> }, conditions?: Preconditions): Promise<PutResult<Article>> {
    const k = contentKeys
    const watched = [k.article(id), k.articleSlugs, ...('input' in change ? [k.section(change.input.section)] : [])]
    return this.write(`article ${id}`, watched, async () => {
      const before = parse<Article>(await this.redis.get(k.article(id)))
      checkPreconditions(`article ${id}`, before, conditions)
      const input = inputOf(`article ${id}`, change, before, 'id', id, validateArticleInput)
      // a patch names its section only now: watched before it is read below
      if (!('input' in change)) await this.redis.watch(k.section(input.section))
      const [slugOwner, sectionExists] = await Promise.all([this.redis.hget(k.articleSlugs, input.slug), this.redis.exists(k.section(input.section))])
      if (slugOwner !== null && slugOwner !== id) {
        throw new Conflict(`slug "${input.slug}" is already used by article ${slugOwner}; choose another slug`, 'slug')
      }
      if (sectionExists === 0) throw new InvalidInput('section', `section "${input.section}" does not exist; create it first (PUT /sections/${input.section})`)

      const after: Article = { id, ...input, updatedAt: new Date().toISOString() }
      return {
        result: { record: after, created: before === undefined, etag: etagOf(after) },
        commit: {
          event: { kind: 'article', id, op: 'put', at: after.updatedAt, ...(before ? { before } : {}), after },
          apply: (tx) => writeArticle(tx, before, after),
        },
      }
    })
  }

  /** Delete an article; false when there was none. */
  async deleteArticle(id: string, conditions?: Preconditions): Promise<boolean> {
    validateId('id', id)
    const k = contentKeys
    return this.write(`article ${id}`, [k.article(id), k.articleSlugs], async () => {
      const before = parse<Article>(await this.redis.get(k.article(id)))
      checkPreconditions(`article ${id}`, before, conditions)
      if (before === undefined) return { result: false }
      const slugOwner = await this.redis.hget(k.articleSlugs, before.slug)
      return {
        result: true,
        commit: {
          event: { kind: 'article', id, op: 'delete', at: new Date().toISOString(), before },
          apply: (tx) => {
            tx.del(k.article(id))
            if (slugOwner === id) tx.hdel(k.articleSlugs, before.slug)
            unindexArticle(tx, before)
          },
        },
      }
    })
  }

  async putSection(slug: string, raw: SectionInput | unknown, conditions?: Preconditions): Promise<PutResult<Section>> {
    validateId('slug', slug)
    return this.saveSection(slug, { input: validateSectionInput(fromEcho(raw, 'slug', slug)) }, conditions)
  }

  async patchSection(slug: string, patch: unknown, conditions?: Preconditions): Promise<PutResult<Section>> {
    validateId('slug', slug)
    return this.saveSection(slug, { patch: validatePatch(patch) }, conditions)
  }

  private async saveSection(slug: string, change: { input: SectionInput } | { patch: Record<string, unknown> }, conditions?: Preconditions): Promise<PutResult<Section>> {
    const k = contentKeys
    return this.write(`section ${slug}`, [k.section(slug)], async () => {
      const before = parse<Section>(await this.redis.get(k.section(slug)))
      checkPreconditions(`section ${slug}`, before, conditions)
      const input = inputOf(`section ${slug}`, change, before, 'slug', slug, validateSectionInput)
      const after: Section = { slug, ...input }
      return {
        result: { record: after, created: before === undefined, etag: etagOf(after) },
        commit: {
          event: { kind: 'section', id: slug, op: 'put', at: new Date().toISOString(), ...(before ? { before } : {}), after },
          apply: (tx) => writeSection(tx, after),
        },
      }
    })
  }

  /** Delete a section; false when there was none; Conflict (409 `slug`) while any article (drafts too) is in it. */
  async deleteSection(slug: string, conditions?: Preconditions): Promise<boolean> {
    validateId('slug', slug)
    const k = contentKeys
    return this.write(`section ${slug}`, [k.section(slug), k.sectionMembers(slug)], async () => {
      const [beforeJson, members] = await Promise.all([this.redis.get(k.section(slug)), this.redis.scard(k.sectionMembers(slug))])
      const before = parse<Section>(beforeJson)
      checkPreconditions(`section ${slug}`, before, conditions)
      if (before === undefined) return { result: false }
      if (members > 0) {
        throw new Conflict(`section "${slug}" still has ${members} article(s), drafts included; move or delete them first`, 'slug')
      }
      return {
        result: true,
        commit: {
          event: { kind: 'section', id: slug, op: 'delete', at: new Date().toISOString(), before },
          apply: (tx) => {
            tx.del(k.section(slug))
            tx.zrem(k.sections, slug)
          },
        },
      }
    })
  }

  async putBlock(id: string, raw: BlockInput | unknown, conditions?: Preconditions): Promise<PutResult<Block>> {
    validateId('id', id)
    return this.saveBlock(id, { input: validateBlockInput(fromEcho(raw, 'id', id)) }, conditions)
  }

  async patchBlock(id: string, patch: unknown, conditions?: Preconditions): Promise<PutResult<Block>> {
    validateId('id', id)
    return this.saveBlock(id, { patch: validatePatch(patch) }, conditions)
  }

  private async saveBlock(id: string, change: { input: BlockInput } | { patch: Record<string, unknown> }, conditions?: Preconditions): Promise<PutResult<Block>> {
    const k = contentKeys
    return this.write(`block ${id}`, [k.block(id)], async () => {
      const before = parse<Block>(await this.redis.get(k.block(id)))
      checkPreconditions(`block ${id}`, before, conditions)
      const input = inputOf(`block ${id}`, change, before, 'id', id, validateBlockInput)
      const after: Block = { id, ...input, updatedAt: new Date().toISOString() }
      return {
        result: { record: after, created: before === undefined, etag: etagOf(after) },
        commit: {
          event: { kind: 'block', id, op: 'put', at: after.updatedAt, ...(before ? { before } : {}), after },
          apply: (tx) => writeBlock(tx, before, after),
        },
      }
    })
  }

  async deleteBlock(id: string, conditions?: Preconditions): Promise<boolean> {
    validateId('id', id)
    const k = contentKeys
    return this.write(`block ${id}`, [k.block(id)], async () => {
      const before = parse<Block>(await this.redis.get(k.block(id)))
      checkPreconditions(`block ${id}`, before, conditions)
      if (before === undefined) return { result: false }
      return {
        result: true,
        commit: {
          event: { kind: 'block', id, op: 'delete', at: new Date().toISOString(), before },
          apply: (tx) => {
            tx.del(k.block(id))
            tx.zrem(k.slotBlocks(before.slot), id)
            tx.zrem(k.scopedBlocks(before.slot, scopeOf(before)), id)
          },
        },
      }
    })
  }

  /** Create or replace a hub page. */
  async putHub(slug: string, raw: HubInput | unknown, conditions?: Preconditions): Promise<PutResult<Hub>> {
    validateId('slug', slug)
    const input = validateHubInput(fromEcho(raw, 'slug', slug))
    const k = contentKeys
    return this.write(`hub ${slug}`, [k.hub(slug)], async () => {
      const before = parse<Hub>(await this.redis.get(k.hub(slug)))
      checkPreconditions(`hub ${slug}`, before, conditions)
      const after: Hub = { slug, ...input, updatedAt: new Date().toISOString() }
      return {
        result: { record: after, created: before === undefined, etag: etagOf(after) },
        commit: {
          event: { kind: 'hub', id: slug, op: 'put', at: after.updatedAt, ...(before ? { before } : {}), after },
          apply: (tx) => {
            tx.set(k.hub(slug), JSON.stringify(after))
            tx.zadd(k.hubs, 0, slug)
          },
        },
      }
    })
  }

  async deleteHub(slug: string, conditions?: Preconditions): Promise<boolean> {
    validateId('slug', slug)
    const k = contentKeys
    return this.write(`hub ${slug}`, [k.hub(slug)], async () => {
      const before = parse<Hub>(await this.redis.get(k.hub(slug)))
      checkPreconditions(`hub ${slug}`, before, conditions)
      if (before === undefined) return { result: false }
      return {
        result: true,
        commit: {
          event: { kind: 'hub', id: slug, op: 'delete', at: new Date().toISOString(), before },
          apply: (tx) => {
            tx.del(k.hub(slug))
            tx.zrem(k.hubs, slug)
          },
        },
      }
    })
  }

  async putNav(raw: NavInput | unknown, conditions?: Preconditions): Promise<PutResult<Nav>> {
    const input = validateNavInput(fromEcho(raw, undefined, undefined))
    return this.write('nav', [contentKeys.nav], async () => {
      const before = parse<Nav>(await this.redis.get(contentKeys.nav))
      checkPreconditions('nav', before, conditions)
      const after: Nav = { entries: input.entries, updatedAt: new Date().toISOString() }
      return {
        result: { record: after, created: before === undefined, etag: etagOf(after) },
        commit: {
          event: { kind: 'nav', id: 'nav', op: 'put', at: after.updatedAt, ...(before ? { before } : {}), after },
          apply: (tx) => {
            tx.set(contentKeys.nav, JSON.stringify(after))
          },
        },
      }
    })
  }

  // ---- bulk import ---------------------------------------------------------------------------------------

  /**
   * Writes a batch of already validated records in one MULTI/EXEC with one batch event (so the purge service
   * purges the batch's keys once). Lines are applied in order: a section created earlier in the batch counts
   * for the articles after it. A line that breaks a rule (slug taken, unknown section) gets its error and
   * writes nothing; the others are written. Watched like single writes: a concurrent change to a watched key
   * makes the whole batch start over, so no rule is checked against stale data.
   */
  async importBatch(items: ImportItem[]): Promise<ImportOutcome[]> {
    if (items.length === 0) return []
    const k = contentKeys
    const recordKey = (item: ImportItem) => (item.kind === 'article' ? k.article(item.id) : item.kind === 'section' ? k.section(item.id) : k.block(item.id))
    const recordKeys = [...new Set(items.map(recordKey))]
    const articles = items.filter((i): i is ImportItem & { kind: 'article' } => i.kind === 'article')
    const sectionKeys = [...new Set(articles.map((a) => k.section(a.input.section)))]
    const slugs = [...new Set(articles.map((a) => a.input.slug))]
    const watched = [...recordKeys, ...sectionKeys, ...(articles.length > 0 ? [k.articleSlugs] : [])]
    return this.write(`import batch of ${items.length}`, watched, async () => {
      const [recordValues, sectionValues, owners] = await Promise.all([
        this.redis.mget(...recordKeys),
        sectionKeys.length > 0 ? this.redis.mget(...sectionKeys) : Promise.resolve([] as Array<string | null>),
        slugs.length > 0 ? this.redis.hmget(k.articleSlugs, ...slugs) : Promise.resolve([] as Array<string | null>),
      ])
      // the store as the batch sees it, line after line
      const records = new Map<string, object | undefined>(recordKeys.map((key, i) => [key, parse<object>(recordValues[i] ?? null)]))
      const sectionExists = new Map<string, boolean>(sectionKeys.map((key, i) => [key, sectionValues[i] !== null]))
      const slugOwner = new Map<string, string | null>(slugs.map((slug, i) => [slug, owners[i] ?? null]))
      const changes: ChangeEvent[] = []
      const applies: Array<(tx: ChainableCommander) => void> = []
      const outcomes: ImportOutcome[] = []
      const at = new Date().toISOString()
      for (const item of items) {
        const key = recordKey(item)
        const before = records.get(key)
        const result = before === undefined ? 'created' : 'updated'
        if (item.kind === 'article') {
          const { input, id } = item
          const owner = slugOwner.get(input.slug) ?? null
          if (owner !== null && owner !== id) {
            outcomes.push({ result: 'error', error: new Conflict(`slug "${input.slug}" is already used by article ${owner}; choose another slug`, 'slug') })
            continue
          }
          if (!sectionExists.get(k.section(input.section))) {
            outcomes.push({ result: 'error', error: new InvalidInput('section', `section "${input.section}" does not exist; import it on an earlier line (or PUT /sections/${input.section})`) })
            continue
          }
          const prev = before as Article | undefined
          const after: Article = { id, ...input, updatedAt: at }
          if (prev && prev.slug !== after.slug) slugOwner.set(prev.slug, null)
          slugOwner.set(after.slug, id)
          records.set(key, after)
          applies.push((tx) => writeArticle(tx, prev, after))
          changes.push({ kind: 'article', id, op: 'put', at, ...(prev ? { before: prev } : {}), after })
        } else if (item.kind === 'section') {
          const prev = before as Section | undefined
          const after: Section = { slug: item.id, ...item.input }
          records.set(key, after)
          sectionExists.set(key, true)
          applies.push((tx) => writeSection(tx, after))
          changes.push({ kind: 'section', id: item.id, op: 'put', at, ...(prev ? { before: prev } : {}), after })
        } else {
          const prev = before as Block | undefined
          const after: Block = { id: item.id, ...item.input, updatedAt: at }
          records.set(key, after)
          applies.push((tx) => writeBlock(tx, prev, after))
          changes.push({ kind: 'block', id: item.id, op: 'put', at, ...(prev ? { before: prev } : {}), after })
        }
        outcomes.push({ result })
      }
      if (changes.length === 0) return { result: outcomes }
      return {
        result: outcomes,
        commit: {
          event: { kind: 'batch', at, changes },
          apply: (tx) => applies.forEach((apply) => apply(tx)),
        },
      }
    })
  }

  // ---- plumbing ------------------------------------------------------------------------------------------

  /** WATCH `keys`, plan under the watch, commit plan + event in one MULTI/EXEC; start over if a watched key moved. */
  private async write<T>(what: string, keys: string[], plan: () => Promise<WritePlan<T>>): Promise<T> {
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const outcome = await this.store(() => this.queued(() => this.attempt(what, keys, plan)))
      if (outcome.committed) return outcome.result
      await sleep(Math.random() * 5 * attempt) // someone else wrote a watched key; let them finish, then retry
    }
    throw new Conflict(`${what} kept changing under concurrent writes (${MAX_WRITE_ATTEMPTS} attempts); retry the request`)
  }

  private async attempt<T>(what: string, keys: string[], plan: () => Promise<WritePlan<T>>): Promise<{ committed: false } | { committed: true; result: T }> {
    const generation = this.generation.n
    await this.redis.watch(...keys)
    let decided: WritePlan<T>
    try {
      decided = await plan()
    } catch (err) {
      await this.redis.unwatch().catch(() => undefined)
      throw err
    }
    if (decided.commit === undefined) {
      await this.redis.unwatch()
      return { committed: true, result: decided.result }
    }
    if (this.generation.n !== generation) return { committed: false } // reconnected: our WATCH is gone, plan again
    const tx = this.redis.multi()
    decided.commit.apply(tx)
    // No MAXLEN: an entry no consumer group has acknowledged must never be trimmed away (its purge would be lost).
    // The purge service trims what every group has acknowledged (purge-service/event-log.ts, XTRIM MINID).
    tx.xadd(contentKeys.events, '*', 'event', JSON.stringify(decided.commit.event))
    const replies = await tx.exec()
    if (replies === null) return { committed: false } // a watched key changed: nothing was written
    const failed = replies.find(([err]) => err)
    if (failed) throw failed[0]
    // Answered only once a replica has it (when so configured): an acknowledged write survives a failover.
    await confirmReplicated(this.redis, `the write of ${what}`)
    return { committed: true, result: decided.result }
  }

  /** Run `fn` after every earlier write on this connection has finished (WATCH state is per connection). */
  private queued<R>(fn: () => Promise<R>): Promise<R> {
    const previous = writeQueues.get(this.redis) ?? Promise.resolve()
    const run = previous.then(fn, fn)
    writeQueues.set(
      this.redis,
      run.catch(() => undefined),
    )
    return run
  }

  /** Run Redis calls, turning "Redis is not there" into StoreUnavailable (503); other errors pass through. */
  private async store<R>(fn: () => Promise<R>): Promise<R> {
    try {
      return await fn()
    } catch (err) {
      throw storeError(err)
    }
  }

  private async getJson<T>(key: string): Promise<T | undefined> {
    return parse<T>(await this.store(() => this.redis.get(key)))
  }

  private async getMany<T>(keys: string[]): Promise<T[]> {
    if (keys.length === 0) return []
    const values = await this.store(() => this.redis.mget(...keys))
    // an index entry whose record was deleted between the two reads is simply skipped
    return values.flatMap((v) => (v === null ? [] : [JSON.parse(v) as T]))
  }
}

/** A record's strong ETag: a hash of its stored JSON (every write changes `updatedAt`, sections their bytes). */
export function etagOf(record: object): string {
  return `"${createHash('sha256').update(JSON.stringify(record)).digest('base64url').slice(0, 27)}"`
}

function checkPreconditions(what: string, before: object | undefined, conditions: Preconditions | undefined): void {
  if (conditions === undefined) return
  const current = before === undefined ? undefined : etagOf(before)
  const { ifMatch, ifNoneMatch } = conditions
  if (ifMatch !== undefined && (current === undefined || (ifMatch !== '*' && !ifMatch.includes(current)))) {
    throw new PreconditionFailed(what, 'if-match', current)
  }
  if (ifNoneMatch !== undefined && current !== undefined && (ifNoneMatch === '*' || ifNoneMatch.includes(current))) {
    throw new PreconditionFailed(what, 'if-none-match', current)
  }
}

/**
 * What a write stores: a PUT's validated input, or a merge patch applied to the record read under WATCH and
 * validated as a whole (404 when there is no record to patch).
 */
function inputOf<I>(what: string, change: { input: I } | { patch: Record<string, unknown> }, before: object | undefined,
  idField: 'id' | 'slug', id: string, validate: (raw: unknown) => I): I {
  if ('input' in change) return change.input
  if (before === undefined) throw new NotFound(what)
  return validate(mergePatch(editable(before, idField), fromEcho(change.patch, idField, id)))
}

/** A stored record without what the store owns (its id and updatedAt): what a merge patch applies to. */
function editable(record: object, idField: 'id' | 'slug'): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...record }
  delete copy[idField]
  delete copy.updatedAt
  return copy
}

/** An article's record and every index it is in, as commands on `tx` (a MULTI, or a pipeline for bulk loads). */
export function writeArticle(tx: ChainableCommander, before: Article | undefined, after: Article): void {
  const k = contentKeys
  const id = after.id
  const published = after.publishedAt === undefined ? undefined : Date.parse(after.publishedAt)
  tx.set(k.article(id), JSON.stringify(after))
  if (before && before.slug !== after.slug) tx.hdel(k.articleSlugs, before.slug)
  tx.hset(k.articleSlugs, after.slug, id)
  tx.hset(k.articleHeadlines, id, JSON.stringify({ slug: after.slug, title: after.title }))
  if (before) tx.zrem(k.articlesByUpdate, updateMember(before))
  tx.zadd(k.articlesByUpdate, 0, updateMember(after))
  const words = articleWords(after)
  const gone = before ? articleWords(before).filter((w) => !words.includes(w)) : []
  if (gone.length > 0) tx.zrem(k.searchWords, ...gone.map((w) => `${w} ${id}`))
  tx.zadd(k.searchWords, ...words.flatMap((w) => [0, `${w} ${id}`]))
  if (before && before.section !== after.section) {
    tx.srem(k.sectionMembers(before.section), id)
    tx.zrem(k.sectionPublished(before.section), id)
  }
  tx.sadd(k.sectionMembers(after.section), id)
  if (published === undefined) {
    tx.zrem(k.articlesPublished, id)
    tx.zrem(k.articlesByViews, id)
    tx.zrem(k.sectionPublished(after.section), id)
  } else {
    tx.zadd(k.articlesPublished, published, id)
    tx.zadd(k.articlesByViews, after.views ?? 0, id)
    tx.zadd(k.sectionPublished(after.section), published, id)
  }
}

/** Removes an article from every index (its record and slug are the caller's). */
function unindexArticle(tx: ChainableCommander, before: Article): void {
  const k = contentKeys
  const id = before.id
  tx.hdel(k.articleHeadlines, id)
  tx.zrem(k.articlesByUpdate, updateMember(before))
  tx.zrem(k.searchWords, ...articleWords(before).map((w) => `${w} ${id}`))
  tx.zrem(k.articlesPublished, id)
  tx.zrem(k.articlesByViews, id)
  tx.zrem(k.sectionPublished(before.section), id)
  tx.srem(k.sectionMembers(before.section), id)
}

function writeSection(tx: ChainableCommander, after: Section): void {
  tx.set(contentKeys.section(after.slug), JSON.stringify(after))
  tx.zadd(contentKeys.sections, after.position, after.slug)
}

function writeBlock(tx: ChainableCommander, before: Block | undefined, after: Block): void {
  tx.set(contentKeys.block(after.id), JSON.stringify(after))
  if (before && before.slot !== after.slot) tx.zrem(contentKeys.slotBlocks(before.slot), after.id)
  tx.zadd(contentKeys.slotBlocks(after.slot), after.position, after.id)
  if (before && (before.slot !== after.slot || scopeOf(before) !== scopeOf(after))) tx.zrem(contentKeys.scopedBlocks(before.slot, scopeOf(before)), after.id)
  tx.zadd(contentKeys.scopedBlocks(after.slot, scopeOf(after)), after.position, after.id)
}

/** An article's member in the update index: its update time (ms, fixed width) and id. */
function updateMember(a: Pick<Article, 'id' | 'updatedAt'>): string {
  return `${String(Date.parse(a.updatedAt)).padStart(15, '0')}:${a.id}`
}

/** The words a search can find an article by: of its id, slug and title, lower case, accents removed. */
export function articleWords(a: Pick<Article, 'id' | 'slug' | 'title'>): string[] {
  return [...new Set([a.id, ...searchWords(a.slug), ...searchWords(a.title)])]
}

function searchWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
}

function encodeCursor(member: string): string {
  return Buffer.from(member).toString('base64url')
}

function decodeCursor(cursor: string): string {
  const member = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : ''
  if (!/^\d{15}:[a-z0-9][a-z0-9-]{0,63}$/.test(member)) throw new InvalidInput('cursor', 'must be the `next` value of a previous page, unchanged')
  return member
}

function parse<T>(json: string | null): T | undefined {
  return json === null ? undefined : (JSON.parse(json) as T)
}

function boundedLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_LIST) throw new InvalidInput('limit', `must be an integer from 0 to ${MAX_LIST}`)
  return limit
}

function excerpt(content: string): string {
  const plain = content.replace(/<[^>]*>|\{\{[^}]*\}\}/g, ' ').replace(/\s+/g, ' ').trim()
  return plain.length > 60 ? `${plain.slice(0, 59)}…` : plain
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
