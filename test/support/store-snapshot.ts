// What the store holds, as one digest: every `tessera:*` key read by its type (a stream by what appending to it
// changes, its last id and how many entries were ever added: a consumer group reading it, or the purge service's
// trimmer removing acknowledged entries, is not a write). Two equal digests: nothing was written.
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

export interface StoreSnapshot {
  digest: string
  keys: number
  /** Entries ever added to tessera:events (XINFO STREAM entries-added: trimming does not lower it) */
  events: number
  /** LLEN tessera:purge-audit */
  audit: number
}

/** Keys that legitimately change without any write request: the render index, purge marks, the purge audit. */
export const DERIVED_KEYS = /^tessera:(key-urls:|purged-at:|purge-audit$)/

export async function storeSnapshot(redis: Redis, ignore: RegExp = DERIVED_KEYS): Promise<StoreSnapshot> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', 'tessera:*', 'COUNT', 1000)
    cursor = next
    keys.push(...batch.filter((k) => !ignore.test(k)))
  } while (cursor !== '0')
  keys.sort()
  const hash = createHash('sha256')
  for (const key of keys) hash.update(`${key}\0${JSON.stringify(await readKey(redis, key))}\0`)
  const [events, audit] = await Promise.all([entriesAdded(redis, 'tessera:events'), redis.llen('tessera:purge-audit')])
  return { digest: hash.digest('hex'), keys: keys.length, events, audit }
}

/** The digest of only the keys `only` matches (e.g. the purge marks, which change only when something is purged). */
export async function keysDigest(redis: Redis, only: RegExp): Promise<string> {
  const all = await redis.keys('tessera:*')
  const keys = all.filter((k) => only.test(k)).sort()
  const hash = createHash('sha256')
  for (const key of keys) hash.update(`${key}\0${JSON.stringify(await readKey(redis, key))}\0`)
  return hash.digest('hex')
}

async function readKey(redis: Redis, key: string): Promise<unknown> {
  const type = await redis.type(key)
  switch (type) {
    case 'string':
      return [type, await redis.get(key)]
    case 'hash':
      return [type, Object.entries(await redis.hgetall(key)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]
    case 'zset':
      return [type, await redis.zrange(key, 0, -1, 'WITHSCORES')]
    case 'set':
      return [type, (await redis.smembers(key)).sort()]
    case 'list':
      return [type, await redis.lrange(key, 0, -1)]
    case 'stream':
      return [type, await streamHead(redis, key)]
    case 'none':
      return [type]
    default:
      return [type, (await redis.dumpBuffer(key))?.toString('base64')]
  }
}

async function streamInfo(redis: Redis, key: string): Promise<Record<string, unknown>> {
  const flat = (await redis.xinfo('STREAM', key)) as unknown[]
  return Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [String(flat[i * 2]), flat[i * 2 + 1]]))
}

async function entriesAdded(redis: Redis, key: string): Promise<number> {
  if ((await redis.exists(key)) === 0) return 0
  return Number((await streamInfo(redis, key))['entries-added'])
}

/** What an append changes: the last id, the count of entries ever added, and the last entry itself. */
async function streamHead(redis: Redis, key: string): Promise<unknown> {
  const info = await streamInfo(redis, key)
  return [info['last-generated-id'], info['entries-added'], await redis.xrevrange(key, '+', '-', 'COUNT', 1)]
}
