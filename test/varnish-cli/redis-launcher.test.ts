import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import t from 'tap'

import { redisPing, startRedisServer } from '../../scripts/stack/redis.js'
import { freePort, pgrep, portIsFree } from './helpers.js'

t.test('redis starts, answers PING, stops, and frees its port', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-redis-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const port = await freePort()
  const redis = await startRedisServer({ dir, host: '127.0.0.1', port, appendonly: true })
  t.teardown(() => redis.stop())
  t.equal(redis.url, `redis://127.0.0.1:${port}`)
  t.ok(await redisPing('127.0.0.1', port))
  t.ok((await pgrep(`redis-server 127.0.0.1:${port}`)).includes(redis.pid))

  await redis.stop()
  t.equal(await redis.exited, 0, 'clean shutdown')
  t.ok(await portIsFree(port))
  t.notOk(await redisPing('127.0.0.1', port))
})

t.test('a port already taken fails clearly', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-redis-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const port = await freePort()
  const first = await startRedisServer({ dir, host: '127.0.0.1', port, appendonly: false })
  t.teardown(() => first.stop())
  await t.rejects(startRedisServer({ dir: path.join(dir, 'b'), host: '127.0.0.1', port, appendonly: false }), {
    code: 'TESSERA_REDIS_START',
    message: /already answers PING/,
  })
})
