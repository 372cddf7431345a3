// The key -> URL index: which edge URLs carry a surrogate key. Written when a fragment or page is rendered,
// read by the purge service to preview a purge and to warm the URLs it hit.
import type { Redis } from 'ioredis'
import { EDGE_KEY_PREFIXES } from './keys.js'

const INDEX_TTL_SECONDS = 7 * 24 * 3600
export const keyUrlsKey = (key: string): string => `tessera:key-urls:${key}`

export async function recordKeyUrls(redis: Redis, keys: string[], url: string): Promise<void> {
  const pipeline = redis.pipeline()
  for (const key of keys) pipeline.sadd(keyUrlsKey(key), url).expire(keyUrlsKey(key), INDEX_TTL_SECONDS)
  const results = await pipeline.exec()
  const failed = results?.find(([err]) => err)
  if (failed) throw failed[0]
}

/** The index's size: its sets, their members, Redis's MEMORY USAGE of them summed, and how many have no TTL. */
export async function keyIndexSize(redis: Redis): Promise<{ keys: number; members: number; bytes: number; withoutTtl: number }> {
  const out = { keys: 0, members: 0, bytes: 0, withoutTtl: 0 }
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', keyUrlsKey('*'), 'COUNT', 1000)
    cursor = next
    if (keys.length === 0) continue
    const pipeline = redis.pipeline()
    for (const key of keys) pipeline.scard(key).call('MEMORY', 'USAGE', key).ttl(key)
    const results = (await pipeline.exec()) ?? []
    const failed = results.find(([err]) => err)
    if (failed) throw failed[0]
    for (let i = 0; i < keys.length; i++) {
      out.keys++
      out.members += Number(results[i * 3][1])
      out.bytes += Number(results[i * 3 + 1][1] ?? 0)
      if (Number(results[i * 3 + 2][1]) < 0) out.withoutTtl++
    }
  } while (cursor !== '0')
  return out
}

export async function urlsForKeys(redis: Redis, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return []
  return (await redis.sunion(...keys.map(keyUrlsKey))).sort()
}

/** The key a page shell's URL is indexed under for each URL it includes (as the page tier tags the page). */
export const includeKey = (includeUrl: string): string => `${EDGE_KEY_PREFIXES.include}${includeUrl}`

/**
 * Every URL a purge of `keys` and `urls` touches: what carries the keys, the URLs themselves, and the pages that
 * include any fragment URL among them (with the page tier, those pages are purged too: varnish/tier.vcl).
 */
export async function urlsAffectedBy(redis: Redis, keys: string[], urls: string[]): Promise<string[]> {
  const direct = new Set([...(await urlsForKeys(redis, keys)), ...urls])
  const fragments = [...direct].filter((u) => u.startsWith('/fragments/'))
  for (const page of await urlsForKeys(redis, fragments.map(includeKey))) direct.add(page)
  return [...direct].sort()
}

// Purge marks: when each surrogate key was last purged (ms since epoch). The purge service writes them just
// before it purges the edge; an origin re-reads them after rendering, so a render that read content before a
// change is done again instead of being cached (the edge refuses what was checked before its latest purge).
const PURGE_MARK_TTL_SECONDS = 3600
export const purgeMarkKey = (key: string): string => `tessera:purged-at:${key}`

export async function markPurged(redis: Redis, keys: string[], atMs: number): Promise<void> {
  if (keys.length === 0) return
  const pipeline = redis.pipeline()
  for (const key of keys) pipeline.set(purgeMarkKey(key), String(atMs), 'EX', PURGE_MARK_TTL_SECONDS)
  const results = await pipeline.exec()
  const failed = results?.find(([err]) => err)
  if (failed) throw failed[0]
}

/** The latest purge mark among `keys`, or 0. */
export async function latestPurge(redis: Redis, keys: string[]): Promise<number> {
  if (keys.length === 0) return 0
  const marks = await redis.mget(...keys.map(purgeMarkKey))
  return marks.reduce((max, mark) => Math.max(max, mark ? Number(mark) : 0), 0)
}
