// Validates a purge request body into surrogate keys and URLs. Anything unexpected is refused with the field.
import { blockKey, everyArticleKey, everySectionKey } from '../cache/content-keys.js'
import { InvalidInput } from '../platform/errors.js'
import { isPurgeableKey, MAX_PURGEABLE_KEY_BYTES } from '../cache/keys.js'
import type { PurgeMode } from './edge-client.js'
import type { PurgeTarget } from './purger.js'

export const MAX_ITEMS = 1000
const ID = /^[a-z0-9][a-z0-9-]{0,63}$/
const SITE_URL = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]{0,2047}$/
const FIELDS = ['keys', 'articles', 'sections', 'blocks', 'urls', 'mode', 'warm'] as const

export interface PurgeRequest {
  target: PurgeTarget
  mode: PurgeMode
  warm: boolean
}

function list(body: Record<string, unknown>, field: string, check: (v: string) => boolean, what: string): string[] {
  const value = body[field]
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new InvalidInput(field, 'must be an array of strings')
  return value.map((item, i) => {
    if (typeof item !== 'string') throw new InvalidInput(`${field}[${i}]`, `a ${Array.isArray(item) ? 'list' : item === null ? 'null' : typeof item} is not ${what}`)
    if (!check(item)) throw new InvalidInput(`${field}[${i}]`, `${JSON.stringify(item.slice(0, 100))}${item.length > 100 ? '...' : ''} is not ${what}`)
    return item
  })
}

export function parsePurgeRequest(body: unknown): PurgeRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInput('body', 'must be a JSON object')
  const record = body as Record<string, unknown>
  for (const field of Object.keys(record)) {
    if (!(FIELDS as readonly string[]).includes(field)) throw new InvalidInput(field, `unknown field; use ${FIELDS.join(', ')}`)
  }
  const mode = record.mode === undefined ? 'hard' : record.mode
  if (mode !== 'hard' && mode !== 'soft') throw new InvalidInput('mode', 'must be "hard" or "soft"')
  if (record.warm !== undefined && typeof record.warm !== 'boolean') throw new InvalidInput('warm', 'must be true or false')
  const named = {
    keys: list(record, 'keys', isPurgeableKey, `a surrogate key (1 to ${MAX_PURGEABLE_KEY_BYTES} characters: a letter or digit, then letters, digits and . _ : / @ + = % -; e.g. article:42, or a legacy CMS's video_12)`),
    articles: list(record, 'articles', (v) => ID.test(v), 'an article id'),
    sections: list(record, 'sections', (v) => ID.test(v), 'a section slug'),
    blocks: list(record, 'blocks', (v) => ID.test(v), 'a block id'),
  }
  const urls = list(record, 'urls', (v) => SITE_URL.test(v), 'a site path starting with "/"')
  // The limit counts what the request names (an article is one, though every object showing it is purged).
  const count = Object.values(named).reduce((n, items) => n + items.length, urls.length)
  if (count === 0) throw new InvalidInput('body', 'name something to purge: keys, articles, sections, blocks or urls (non-empty)')
  if (count > MAX_ITEMS) throw new InvalidInput('body', `at most ${MAX_ITEMS} keys and URLs per request; split it`)
  const keys = [...named.keys, ...named.articles.flatMap(everyArticleKey), ...named.sections.flatMap(everySectionKey), ...named.blocks.map(blockKey)]
  return { target: { keys: [...new Set(keys)], urls: [...new Set(urls)] }, mode, warm: record.warm === true }
}
