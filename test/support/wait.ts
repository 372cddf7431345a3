import { connectRedis } from '../../platform/redis.js'
import type { PurgeRecord } from '../../purge-service/purger.js'

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Waits until the purge service has taken every change event in the stream (delivered, none pending). */
export async function eventsSettled(redisUrl: string, timeoutMs = 20_000): Promise<void> {
  const redis = connectRedis(redisUrl, 'test-wait') // a redis:// or redis+sentinel:// URL
  try {
    await until('the purge service to acknowledge every change event', async () => {
      const groups = (await redis.xinfo('GROUPS', 'tessera:events')) as Array<Array<string | number>>
      if (groups.length === 0) return false
      const info = groups[0]
      const fields = Object.fromEntries(Array.from({ length: info.length / 2 }, (_, i) => [info[i * 2], info[i * 2 + 1]]))
      const last = (await redis.xrevrange('tessera:events', '+', '-', 'COUNT', 1))[0]?.[0]
      return fields.pending === 0 && fields['last-delivered-id'] === last
    }, timeoutMs)
  } finally {
    redis.disconnect()
  }
}

/**
 * The purge service's audit record of the automatic purge (source "event") of `key` that started at or after
 * `since` (ms since the epoch: take it before sending the change), once every change event is acknowledged.
 */
export async function acknowledgedPurge(stack: { redisUrl: string; purgeApi: string; token: string }, key: string, since: number): Promise<PurgeRecord> {
  await eventsSettled(stack.redisUrl)
  return until(`the audit record of the purge of ${key}`, async () => {
    const res = await fetch(`${stack.purgeApi}/purges?limit=20`, { headers: { authorization: `Bearer ${stack.token}` } })
    const { purges } = (await res.json()) as { purges: PurgeRecord[] }
    return purges.find((p) => p.source === 'event' && p.keys.includes(key) && Date.parse(p.at) >= since)
  })
}
