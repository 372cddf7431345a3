import { Redis } from 'ioredis'
import t from 'tap'
import { createLogger } from '../../platform/log.js'
import { Purger } from '../../purge-service/purger.js'
import { startRedis } from '../support/redis.js'

t.test('one purge of 200,000 keys (an import read in one go: 200 batch events of 200 changes) is sent, twice in a row', async (t) => {
  const server = await startRedis(t)
  const redis = new Redis(server.url)
  t.teardown(() => redis.disconnect())
  const purger = new Purger({ redis, nodes: [], secret: 'unused-secret-unused', timeoutMs: 1000, coalesceMs: 50, log: createLogger('test', 'silent') })
  const keys = Array.from({ length: 200_000 }, (_, i) => `article:${100_000 + i}`)
  const first = await purger.purge({ keys, urls: [] }, 'hard', { who: 'test', source: 'event' })
  t.equal(first.keys.length, keys.length)
  // the same keys again inside the coalescing window: they wait for it, and still go out
  const second = await purger.purge({ keys, urls: [] }, 'hard', { who: 'test', source: 'event' })
  t.equal(second.keys.length, keys.length)
  t.equal(await redis.exists(`tessera:purged-at:article:${100_000 + 199_999}`), 1, 'every key was marked purged')
})
