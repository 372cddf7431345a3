// The purge service configured to wait for a replica (as through Sentinel) with none: a purge queued for a node
// that did not take it is not reported as done (its queue write may not survive a failover): the call fails
// with TESSERA_STORE_NOT_REPLICATED, so an event stays unacknowledged and is purged again.
import t from 'tap'
import { createLogger } from '../../platform/log.js'
import { connectRedis } from '../../platform/redis.js'
import { Purger } from '../../purge-service/purger.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import { startRedis } from '../support/redis.js'

t.test('a purge queued for a node that is down: 503 TESSERA_STORE_NOT_REPLICATED until a replica confirms the queue', async (t) => {
  const server = await startRedis(t)
  const [deadPort] = await freePorts(1)
  const node = `http://127.0.0.1:${deadPort}`
  const waiting = connectRedis(server.url, 'purge-test', { replicas: 1, timeoutMs: 50 })
  t.teardown(() => waiting.disconnect())
  const purger = new Purger({ redis: waiting, nodes: [node], secret: 'unused-secret-unused', timeoutMs: 500, coalesceMs: 0, log: createLogger('test', 'silent') })
  t.teardown(() => purger.close())
  await t.rejects(purger.purge({ keys: ['article:a1'], urls: [] }, 'hard', { who: 'test', source: 'event' }), { code: 'TESSERA_STORE_NOT_REPLICATED', statusCode: 503, message: /the purge .* queued for http:\/\/127\.0\.0\.1:\d+ reached the Redis primary, but 0 of the 1/ })
  t.equal(await waiting.llen(`tessera:purge-queue:${node}`), 1, 'the queue has it on the primary (unconfirmed)')

  const plain = connectRedis(server.url, 'purge-test-plain')
  t.teardown(() => plain.disconnect())
  const noWait = new Purger({ redis: plain, nodes: [node], secret: 'unused-secret-unused', timeoutMs: 500, coalesceMs: 0, log: createLogger('test', 'silent') })
  t.teardown(() => noWait.close())
  const record = await noWait.purge({ keys: ['article:a2'], urls: [] }, 'hard', { who: 'test', source: 'event' })
  t.same(record.nodes.map((n) => n.queued), [true], 'without a WAIT policy the queued purge is reported at once, as before')
})
