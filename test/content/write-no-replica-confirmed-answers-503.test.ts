// A content store configured to wait for a replica (as through Sentinel) that has none: the write is applied on
// the primary, but the API does not acknowledge it; it answers 503 TESSERA_STORE_NOT_REPLICATED saying so.
import t from 'tap'
import { buildContentApi } from '../../content/api/app.js'
import { ContentRepository } from '../../content/repository.js'
import { connectRedis } from '../../platform/redis.js'
import { startRedis } from '../support/redis.js'

const TOKEN = 'editor-token-for-tests-0123456789'

t.test('no replica confirms within the timeout: 503 TESSERA_STORE_NOT_REPLICATED, reads unaffected', async (t) => {
  const server = await startRedis(t)
  const redis = connectRedis(server.url, 'content-test', { replicas: 1, timeoutMs: 100 })
  t.teardown(() => redis.disconnect())
  const app = buildContentApi({ repo: new ContentRepository(redis), editorToken: TOKEN, logLevel: 'silent' })
  t.teardown(() => app.close())
  const started = Date.now()
  const res = await app.inject({ method: 'PUT', url: '/sections/news', headers: { authorization: `Bearer ${TOKEN}` }, payload: { title: 'News', position: 1 } })
  const ms = Date.now() - started
  t.equal(res.statusCode, 503)
  t.equal(res.json().error.code, 'TESSERA_STORE_NOT_REPLICATED')
  t.match(res.json().error.message, /section news reached the Redis primary, but 0 of the 1 replica\(s\).*within 100 ms.*may or may not survive a failover.*send the same request again/)
  t.ok(ms >= 100 && ms < 2000, `answered after the WAIT timeout (${ms} ms), no hang`)
  const read = await app.inject({ method: 'GET', url: '/sections/news', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(read.statusCode, 200, 'the primary has it: what the message says (it stands now, unconfirmed)')

  const plain = connectRedis(server.url, 'content-test-plain')
  t.teardown(() => plain.disconnect())
  const noWait = buildContentApi({ repo: new ContentRepository(plain), editorToken: TOKEN, logLevel: 'silent' })
  t.teardown(() => noWait.close())
  const again = await noWait.inject({ method: 'PUT', url: '/sections/news', headers: { authorization: `Bearer ${TOKEN}` }, payload: { title: 'News', position: 1 } })
  t.equal(again.statusCode, 200, 'a client made without a WAIT policy answers at once, as before')
})
