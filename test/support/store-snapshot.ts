// What the store holds, as one digest: every `tessera:*` key read by its type (a stream by its entries only,
// so a consumer group reading it does not count as a change). Two equal digests: nothing was written.
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

export interface StoreSnapshot {
  digest: string
  keys: number
  /** XLEN tessera:events */
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
  const [events, audit] = await Promise.all([redis.xlen('tessera:events'), redis.llen('tessera:purge-audit')])
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
      return [type, await redis.xrange(key, '-', '+')]
    case 'none':
      return [type]
    default:
      return [type, (await redis.dumpBuffer(key))?.toString('base64')]
  }
}
