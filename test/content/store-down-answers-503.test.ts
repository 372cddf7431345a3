import t from 'tap'
import { buildContentApi } from '../../content/api/app.js'
import { ContentRepository } from '../../content/repository.js'
import { connectRedis } from '../../platform/redis.js'
import { startRedis } from '../support/redis.js'

const TOKEN = 'editor-token-for-tests-0123456789'

t.test('while Redis is down, reads and writes fail fast with StoreUnavailable and the API answers 503', async (t) => {
  const server = await startRedis(t)
  const redis = connectRedis(server.url, 'content-test') // the production client settings
  redis.on('error', () => undefined)
  t.teardown(() => redis.disconnect())
  const repo = new ContentRepository(redis)
  const app = buildContentApi({ repo, editorToken: TOKEN, logLevel: 'silent' })
  t.teardown(() => app.close())
  await repo.putSection('news', { title: 'News', position: 1 })

  await server.stop()
  const started = Date.now()
  await t.rejects(repo.getSection('news'), { code: 'TESSERA_STORE_UNAVAILABLE', statusCode: 503 })
  await t.rejects(repo.putSection('culture', { title: 'Culture', position: 2 }), { code: 'TESSERA_STORE_UNAVAILABLE', statusCode: 503 })
  const res = await app.inject({ method: 'GET', url: '/sections', headers: { authorization: `Bearer ${TOKEN}` } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().error.code, 'TESSERA_STORE_UNAVAILABLE')
  t.ok(Date.now() - started < 5_000, `failed fast (${Date.now() - started} ms), no hanging request`)
})
