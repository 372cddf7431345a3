import { Redis } from 'ioredis'
import t from 'tap'
import { EVENTS_STREAM } from '../../content/model.js'
import { createLogger } from '../../platform/log.js'
import { buildPurgeApi } from '../../purge-service/app.js'
import { EventLog } from '../../purge-service/event-log.js'
import { addEventBacklogMetrics } from '../../purge-service/purge-metrics.js'
import { Purger } from '../../purge-service/purger.js'
import { startRedis } from '../support/redis.js'

const log = createLogger('test', 'silent')

async function setup(t: { teardown(fn: () => unknown): void }, cap: number) {
  const server = await startRedis(t)
  const redis = new Redis(server.url)
  t.teardown(() => redis.disconnect())
  const ids: string[] = []
  const add = async (n: number) => {
    for (let i = 0; i < n; i++) ids.push((await redis.xadd(EVENTS_STREAM, '*', 'event', JSON.stringify({ kind: 'nav', id: 'nav', op: 'put', at: new Date().toISOString() })))!)
  }
  const read = async (group: string, count: number) => {
    const got = (await redis.xreadgroup('GROUP', group, 'c1', 'COUNT', count, 'STREAMS', EVENTS_STREAM, '>')) as Array<[string, Array<[string, string[]]>]> | null
    return got?.[0]?.[1].map(([id]) => id) ?? []
  }
  const eventLog = new EventLog({ redis, cap, intervalMs: 60_000, log })
  return { redis, ids, add, read, eventLog }
}

t.test('the stream is trimmed only below what every consumer group has acknowledged', async (t) => {
  const { redis, ids, add, read, eventLog } = await setup(t, 5)
  await add(10)
  let s = await eventLog.trim()
  t.match(s, { length: 10, backlog: 10, trimmed: 0, overCap: true, groups: [] }, 'no consumer group yet: nothing is trimmed')

  await redis.xgroup('CREATE', EVENTS_STREAM, 'purgers', '0')
  const delivered = await read('purgers', 6)
  await redis.xack(EVENTS_STREAM, 'purgers', ...delivered.slice(0, 4))
  s = await eventLog.trim()
  t.equal(s.trimmed, 4, 'the 4 acknowledged entries go; the 2 pending and 4 undelivered stay')
  t.equal(s.trimmedBelow, ids[4])
  t.match(s, { length: 6, backlog: 6, overCap: true, groups: [{ group: 'purgers', pending: 2, undelivered: 4 }] })
  t.same((await redis.xrange(EVENTS_STREAM, '-', '+')).map(([id]) => id), ids.slice(4))

  // a second group that is behind holds the trim back for everyone
  await redis.xgroup('CREATE', EVENTS_STREAM, 'auditors', '0')
  await redis.xack(EVENTS_STREAM, 'purgers', ...delivered.slice(4), ...(await read('purgers', 100)))
  s = await eventLog.trim()
  t.equal(s.trimmed, 0, 'the auditors have read nothing: nothing more is trimmed')
  t.match(s, { length: 6, backlog: 6, overCap: true })
  const auditorRead = await read('auditors', 3)
  await redis.xack(EVENTS_STREAM, 'auditors', ...auditorRead)
  s = await eventLog.trim()
  t.equal(s.trimmed, 2, 'below the last entry both groups have seen (that one is kept)')
  t.same((await redis.xrange(EVENTS_STREAM, '-', '+')).map(([id]) => id), ids.slice(6))
  t.match(s, { length: 4, backlog: 3, overCap: false }, 'back under the cap of 5')

  await add(20)
  s = await eventLog.trim()
  t.match(s, { length: 24, backlog: 23, overCap: true }, 'writes go on past the cap; nothing is dropped')
})

t.test('GET /edges and /metrics say when the backlog is over the cap', async (t) => {
  const { redis, add, eventLog } = await setup(t, 3)
  await redis.xgroup('CREATE', EVENTS_STREAM, 'tessera-purgers', '$', 'MKSTREAM')
  await add(5)
  const purger = new Purger({ redis, nodes: [], secret: 'unused-secret-unused', timeoutMs: 1000, coalesceMs: 0, log })
  const tokens = { editorToken: 'editor-token-0123456789', opsToken: 'ops-token-0123456789ab' }
  const app = buildPurgeApi({ redis, purger, eventLog, ...tokens, edgeAdmins: [], adminSecretFile: '/nonexistent', warmConcurrency: 1, logger: log })
  addEventBacklogMetrics(app, eventLog)
  t.teardown(() => app.close())
  await eventLog.trim()
  const edges = (await app.inject({ method: 'GET', url: '/edges', headers: { authorization: `Bearer ${tokens.editorToken}` } })).json()
  t.match(edges.events, { backlog: 5, cap: 3, overCap: true, length: 5, groups: [{ group: 'tessera-purgers', pending: 0, undelivered: 5 }] })
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /^tessera_events_backlog\{service="purge"\} 5$/m)
  t.match(metrics, /^tessera_events_backlog_cap\{service="purge"\} 3$/m)
  t.match(metrics, /^tessera_events_backlog_over_cap\{service="purge"\} 1$/m)
  t.match(metrics, /^tessera_events_stream_length\{service="purge"\} 5$/m)
})
