// The key -> URL index: which edge URLs carry a surrogate key. Written when a fragment or page is rendered,
// read by the purge service to preview a purge and to warm the URLs it hit.
import type { Redis } from 'ioredis'

const INDEX_TTL_SECONDS = 7 * 24 * 3600
export const keyUrlsKey = (key: string): string => `tessera:key-urls:${key}`

export async function recordKeyUrls(redis: Redis, keys: string[], url: string): Promise<void> {
  const pipeline = redis.pipeline()
  for (const key of keys) pipeline.sadd(keyUrlsKey(key), url).expire(keyUrlsKey(key), INDEX_TTL_SECONDS)
  const results = await pipeline.exec()
  const failed = results?.find(([err]) => err)
  if (failed) throw failed[0]
}

export async function urlsForKeys(redis: Redis, keys: string[]): Promise<string[]> {
  if (keys.length === 0) return []
  return (await redis.sunion(...keys.map(keyUrlsKey))).sort()
}
