// Untrusted JSON in, typed content inputs out. Every refusal is an InvalidInput naming the field and saying
// what a valid value looks like. Validators return fresh objects (never the caller's), with dates normalised
// to UTC ISO 8601 (`2030-01-01T09:00:00.000Z`) so every reader can compare them as instants.
import { InvalidInput } from '../platform/errors.js'
import { checkSnippet } from '../platform/html.js'
import { BLOCK_SCOPE_KINDS, BLOCK_SLOTS, HUB_MODULE_KINDS, type Article, type ArticleListSource, type Hub, type HubModule, type HubModuleKind, type Block, type BlockKind, type BlockScope, type BlockSlot, type Nav, type NavEntry, type Section } from './model.js'

/** What an editor sends; the repository adds the id/slug from the path and `updatedAt`. */
export type ArticleInput = Omit<Article, 'id' | 'updatedAt'>
export type SectionInput = Omit<Section, 'slug'>
export type BlockInput = Omit<Block, 'id' | 'updatedAt'>
export type NavInput = Omit<Nav, 'updatedAt'>
export type HubInput = Omit<Hub, 'slug' | 'updatedAt'>

export const LIMITS = Object.freeze({
  titleChars: 300,
  summaryChars: 1_000,
  authorChars: 200,
  descriptionChars: 1_000,
  bodyBytes: 200 * 1024,
  blockContentBytes: 50 * 1024,
  navEntries: 50,
  navLabelChars: 100,
  hrefChars: 2_048,
  position: 1_000_000, // positions are integers in [-position, position]
  // the edge assembles a page of at most 12 includes (varnish/tier.vcl): a hub has 4 besides its modules
  hubModules: 8,
  articleListLength: 12, // as a front shows (cache/content-keys.ts FRONT_LENGTH)
})

export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/
const BLOCK_KINDS: readonly BlockKind[] = ['text', 'html', 'snippet']
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,9})?)?(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d))?$/

/** An article id, section slug or block id: 1-64 of [a-z0-9-], starting with a letter or digit. */
export function validateId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new InvalidInput(field, 'must be 1-64 characters of a-z, 0-9 and "-", starting with a letter or digit')
  }
  return value
}

export function validateArticleInput(raw: unknown): ArticleInput {
  const o = record(raw, ['slug', 'title', 'section', 'body', 'summary', 'author', 'publishedAt', 'views'])
  const input: ArticleInput = {
    slug: validateId('slug', o.slug),
    title: line('title', o.title, LIMITS.titleChars),
    section: validateId('section', o.section),
    body: text('body', o.body, LIMITS.bodyBytes),
  }
  if (o.summary !== undefined) input.summary = paragraph('summary', o.summary, LIMITS.summaryChars)
  if (o.author !== undefined) input.author = line('author', o.author, LIMITS.authorChars)
  if (o.publishedAt !== undefined) input.publishedAt = isoDate('publishedAt', o.publishedAt)
  if (o.views !== undefined) input.views = integer('views', o.views, 0, Number.MAX_SAFE_INTEGER)
  return input
}

export function validateSectionInput(raw: unknown): SectionInput {
  const o = record(raw, ['title', 'position', 'description'])
  const input: SectionInput = {
    title: line('title', o.title, LIMITS.titleChars),
    position: integer('position', o.position, -LIMITS.position, LIMITS.position),
  }
  if (o.description !== undefined) input.description = paragraph('description', o.description, LIMITS.descriptionChars)
  return input
}

export function validateBlockInput(raw: unknown): BlockInput {
  const o = record(raw, ['slot', 'kind', 'content', 'position', 'scope', 'draft', 'startsAt', 'endsAt'])
  const slot = oneOf<BlockSlot>('slot', o.slot, BLOCK_SLOTS)
  const kind = oneOf<BlockKind>('kind', o.kind, BLOCK_KINDS)
  const content = text('content', o.content, LIMITS.blockContentBytes)
  if (kind === 'snippet') {
    try {
      checkSnippet(content, slot) // as its slot renders it: our helpers only (knownHelpersOnly)
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err)
      throw new InvalidInput('content', `is not a valid Handlebars template (${reason})`)
    }
  }
  const input: BlockInput = { slot, kind, content, position: integer('position', o.position, -LIMITS.position, LIMITS.position) }
  if (o.scope !== undefined) input.scope = validateScope('scope', o.scope)
  if (draftFlag(o.draft)) input.draft = true
  if (o.startsAt !== undefined) input.startsAt = isoDate('startsAt', o.startsAt)
  if (o.endsAt !== undefined) input.endsAt = isoDate('endsAt', o.endsAt)
  if (input.startsAt !== undefined && input.endsAt !== undefined && Date.parse(input.endsAt) <= Date.parse(input.startsAt)) {
    throw new InvalidInput('endsAt', 'must be later than startsAt')
  }
  return input
}

const SCOPE = new RegExp(`^(${BLOCK_SCOPE_KINDS.join('|')}):(.*)$`)

/** `site`, or `section:<slug>`, `article:<id>`, `hub:<slug>` (the page it is aimed at need not exist yet). */
export function validateScope(field: string, value: unknown): BlockScope {
  const hint = 'must be site, section:<slug>, article:<id> or hub:<slug> (slug and id: 1-64 of a-z, 0-9 and "-")'
  if (value === 'site') return 'site'
  const m = typeof value === 'string' ? SCOPE.exec(value) : null
  if (!m || !ID_PATTERN.test(m[2]!)) throw new InvalidInput(field, hint)
  return value as BlockScope
}

export function validateHubInput(raw: unknown): HubInput {
  const o = record(raw, ['title', 'description', 'modules', 'startsAt', 'endsAt', 'draft'])
  if (!Array.isArray(o.modules)) throw new InvalidInput('modules', `must be an array of modules (kind: ${HUB_MODULE_KINDS.join(', ')})`)
  if (o.modules.length > LIMITS.hubModules) throw new InvalidInput('modules', `must have at most ${LIMITS.hubModules} modules (a page is assembled from at most 12 includes)`)
  const input: HubInput = { title: line('title', o.title, LIMITS.titleChars), modules: o.modules.map((m: unknown, i: number) => hubModule(`modules[${i}]`, m)) }
  if (o.description !== undefined) input.description = paragraph('description', o.description, LIMITS.descriptionChars)
  if (o.startsAt !== undefined) input.startsAt = isoDate('startsAt', o.startsAt)
  if (o.endsAt !== undefined) input.endsAt = isoDate('endsAt', o.endsAt)
  if (input.startsAt !== undefined && input.endsAt !== undefined && Date.parse(input.endsAt) <= Date.parse(input.startsAt)) {
    throw new InvalidInput('endsAt', 'must be later than startsAt')
  }
  if (draftFlag(o.draft)) input.draft = true
  return input
}

/** `draft`: true (only a preview shows it) or false / absent (published); stored only when true. */
function draftFlag(value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new InvalidInput('draft', 'must be true or false')
  return value === true
}

function hubModule(where: string, raw: unknown): HubModule {
  const kind = oneOf<HubModuleKind>(`${where}.kind`, (raw as Record<string, unknown> | null)?.kind, HUB_MODULE_KINDS)
  switch (kind) {
    case 'blocks': {
      const o = record(raw, ['kind', 'slot'], where)
      return { kind, slot: oneOf<BlockSlot>(`${where}.slot`, o.slot, BLOCK_SLOTS) }
    }
    case 'article-list': {
      const o = record(raw, ['kind', 'source', 'ids', 'limit'], where)
      const source = listSource(`${where}.source`, o.source)
      const limit = integer(`${where}.limit`, o.limit, 1, LIMITS.articleListLength)
      if (source !== 'picks') {
        if (o.ids !== undefined) throw new InvalidInput(`${where}.ids`, 'is only for source picks (the latest and a section\'s latest choose their own articles)')
        return { kind, source, limit }
      }
      if (!Array.isArray(o.ids) || o.ids.length === 0 || o.ids.length > LIMITS.articleListLength) {
        throw new InvalidInput(`${where}.ids`, `must be 1-${LIMITS.articleListLength} article ids, in the order to show them`)
      }
      const ids = o.ids.map((id: unknown, i: number) => validateId(`${where}.ids[${i}]`, id))
      if (new Set(ids).size !== ids.length) throw new InvalidInput(`${where}.ids`, 'must not name an article twice')
      return { kind, source, ids, limit }
    }
    case 'article-teaser': {
      const o = record(raw, ['kind', 'id'], where)
      return { kind, id: validateId(`${where}.id`, o.id) }
    }
    case 'html': {
      const o = record(raw, ['kind', 'content'], where)
      return { kind, content: text(`${where}.content`, o.content, LIMITS.blockContentBytes) }
    }
  }
}

function listSource(field: string, value: unknown): ArticleListSource {
  if (value === 'latest' || value === 'picks') return value
  if (typeof value === 'string' && value.startsWith('section:') && ID_PATTERN.test(value.slice('section:'.length))) return value as ArticleListSource
  throw new InvalidInput(field, 'must be latest, picks or section:<slug>')
}

export function validateNavInput(raw: unknown): NavInput {
  const o = record(raw, ['entries'])
  if (!Array.isArray(o.entries)) throw new InvalidInput('entries', 'must be an array of { label, href }')
  if (o.entries.length > LIMITS.navEntries) throw new InvalidInput('entries', `must have at most ${LIMITS.navEntries} entries`)
  const entries = o.entries.map((raw: unknown, i: number): NavEntry => {
    const e = record(raw, ['label', 'href'], `entries[${i}]`)
    return { label: line(`entries[${i}].label`, e.label, LIMITS.navLabelChars), href: href(`entries[${i}].href`, e.href) }
  })
  return { entries }
}

/**
 * A record as GET returned it, made into an input for PUT (a round trip): the path's own id (`id`, or a
 * section's `slug`) may be repeated if it is the URL's (another one is refused, naming both), and `updatedAt`
 * (the store's) is ignored when it is an ISO 8601 date. Anything else is left for the input validator.
 */
export function fromEcho(raw: unknown, idField: 'id' | 'slug' | undefined, pathId: string | undefined): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw
  const o = raw as Record<string, unknown>
  if (!Object.hasOwn(o, 'updatedAt') && (idField === undefined || !Object.hasOwn(o, idField))) return raw
  const copy: Record<string, unknown> = { ...o }
  if (idField !== undefined && Object.hasOwn(copy, idField)) {
    if (copy[idField] !== pathId) {
      throw new InvalidInput(idField, `is ${JSON.stringify(copy[idField])} but the URL names ${JSON.stringify(pathId)}; a record's ${idField} comes from its URL (send the URL's or leave it out)`)
    }
    delete copy[idField]
  }
  if (Object.hasOwn(copy, 'updatedAt')) {
    isoDate('updatedAt', copy.updatedAt) // the value GET returned; set by the store, so it is otherwise ignored
    delete copy.updatedAt
  }
  return copy
}

/** RFC 7396 JSON merge patch: `null` removes a member, an object merges member by member, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = mergePatch(result[key], value)
  }
  return result
}

/** A merge patch document for a record: a JSON object (RFC 7396 allows others, but they would replace the record). */
export function validatePatch(raw: unknown): Record<string, unknown> {
  if (!isPlainObject(raw)) throw new InvalidInput('input', 'must be a JSON object (a JSON merge patch, RFC 7396: the fields to change, null to remove one)')
  return raw
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** An integer query/path parameter (strings from the URL), or `fallback` when absent. */
export function intParam(field: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback
  if (typeof value !== 'string' || !/^-?\d{1,16}$/.test(value)) throw new InvalidInput(field, `must be an integer from ${min} to ${max}`)
  return integer(field, Number(value), min, max)
}

// ---- building blocks -------------------------------------------------------------------------------------

function record(raw: unknown, allowed: readonly string[], where = 'input'): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidInput(where, 'must be a JSON object')
  const o = raw as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) {
      const field = where === 'input' ? key : `${where}.${key}`
      throw new InvalidInput(field, `is not a known field (allowed: ${allowed.join(', ')}); ids come from the URL and updatedAt is set by the store`)
    }
  }
  return o
}

function requiredString(field: string, value: unknown): string {
  if (value === undefined || value === null) throw new InvalidInput(field, 'is required')
  if (typeof value !== 'string') throw new InvalidInput(field, 'must be a string')
  return value
}

/** One line of text: trimmed, non-empty, no control characters, at most `max` characters. */
function line(field: string, value: unknown, max: number): string {
  const s = requiredString(field, value).trim()
  if (s === '') throw new InvalidInput(field, 'must not be empty')
  if (CONTROL_CHARS.test(s)) throw new InvalidInput(field, 'must be a single line without control characters')
  if (charCount(s) > max) throw new InvalidInput(field, `must be at most ${max} characters`)
  return s
}

/** Short free text (may span lines): trimmed, at most `max` characters, no NUL. */
function paragraph(field: string, value: unknown, max: number): string {
  const s = requiredString(field, value).trim()
  if (s.includes('\u0000')) throw new InvalidInput(field, 'must not contain NUL characters')
  if (charCount(s) > max) throw new InvalidInput(field, `must be at most ${max} characters`)
  return s
}

/** Long text (article body, block content): not blank, at most `maxBytes` of UTF-8, no NUL. */
function text(field: string, value: unknown, maxBytes: number): string {
  const s = requiredString(field, value)
  if (Buffer.byteLength(s, 'utf8') > maxBytes) throw new InvalidInput(field, `must be at most ${maxBytes / 1024} KB (UTF-8)`)
  if (s.trim() === '') throw new InvalidInput(field, 'must not be empty')
  if (s.includes('\u0000')) throw new InvalidInput(field, 'must not contain NUL characters')
  return s
}

function integer(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidInput(field, `must be an integer from ${min} to ${max}`)
  }
  return value
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidInput(field, `must be one of ${allowed.join(', ')}`)
  }
  return value as T
}

/** ISO 8601 date (`2030-01-01`, taken as UTC) or date-time with a zone (`Z` or `+02:00`); returned in UTC. */
function isoDate(field: string, value: unknown): string {
  const s = requiredString(field, value)
  const m = ISO_DATE.exec(s)
  const hint = 'must be an ISO 8601 date-time with a zone, e.g. 2030-01-01T09:00:00Z'
  if (!m) throw new InvalidInput(field, hint)
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) throw new InvalidInput(field, `${hint} (${s} is not a calendar date)`)
  const ms = Date.parse(s)
  if (Number.isNaN(ms)) throw new InvalidInput(field, hint)
  return new Date(ms).toISOString()
}

/** A site-relative path (`/sections/news`) or an https:// URL; nothing a browser could read as another origin. */
function href(field: string, value: unknown): string {
  const s = requiredString(field, value).trim()
  if (s === '' || s.length > LIMITS.hrefChars || /[\s\u0000-\u001f\u007f\\]/.test(s)) {
    throw new InvalidInput(field, `must be a site-relative path like /sections/news or an https:// URL (at most ${LIMITS.hrefChars} characters, no spaces or backslashes)`)
  }
  if (s.startsWith('/')) {
    if (s.startsWith('//')) throw new InvalidInput(field, 'must not start with "//" (that leaves the site); use /path or https://host/path')
    return s
  }
  let url: URL
  try {
    url = new URL(s)
  } catch {
    throw new InvalidInput(field, 'must be a site-relative path like /sections/news or an https:// URL')
  }
  if (url.protocol !== 'https:' || url.hostname === '') throw new InvalidInput(field, 'must be a site-relative path like /sections/news or an https:// URL')
  if (url.username !== '' || url.password !== '') throw new InvalidInput(field, 'must not carry credentials')
  return s
}

/** Characters as people count them (code points, so an emoji is one). */
function charCount(s: string): number {
  return Array.from(s).length
}
