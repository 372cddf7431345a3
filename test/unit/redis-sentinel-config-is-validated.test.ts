import t from 'tap'
import { loadConfig, parseRedisSentinelUrl, redisUrlOf } from '../../platform/config.js'

t.test('by default: our own single redis-server, no WAIT', async (t) => {
  const config = loadConfig({})
  t.equal(config.redisSentinel, undefined)
  t.equal(config.redisHa, false)
  t.same(config.redisWait, { replicas: 0, timeoutMs: 1000 })
  t.equal(redisUrlOf(config), 'redis://127.0.0.1:6390')
  t.equal(redisUrlOf(loadConfig({ REDIS_URL: 'redis://10.0.0.5:6379/2' })), 'redis://10.0.0.5:6379/2', 'REDIS_URL as given')
})

t.test('TESSERA_REDIS_SENTINELS + TESSERA_REDIS_MASTER: through Sentinel, writes wait for one replica', async (t) => {
  const config = loadConfig({ TESSERA_REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379,[::1]:26380', TESSERA_REDIS_MASTER: 'tessera-main' })
  t.same(config.redisSentinel, { sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }, { host: '::1', port: 26380 }], master: 'tessera-main' })
  t.same(config.redisWait, { replicas: 1, timeoutMs: 1000 })
  t.equal(redisUrlOf(config), 'redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,[::1]:26380/tessera-main', 'handed on as one URL')
  t.same(loadConfig({ REDIS_URL: redisUrlOf(config) }).redisSentinel, config.redisSentinel, 'the URL form says the same')
  t.same(loadConfig({ TESSERA_REDIS_SENTINELS: '10.0.0.1:26379', TESSERA_REDIS_MASTER: 'm', TESSERA_REDIS_WAIT_REPLICAS: '0' }).redisWait.replicas, 0, 'WAIT can be turned off')
  t.same(loadConfig({ TESSERA_REDIS_WAIT_REPLICAS: '2', TESSERA_REDIS_WAIT_TIMEOUT_MS: '250' }).redisWait, { replicas: 2, timeoutMs: 250 })
})

t.test('the URL form: redis+sentinel://host:port,host:port/<master>', async (t) => {
  t.same(parseRedisSentinelUrl('redis+sentinel://a:1,b.example:26379/main'), { sentinels: [{ host: 'a', port: 1 }, { host: 'b.example', port: 26379 }], master: 'main' })
  for (const bad of ['redis+sentinel://a:1', 'redis+sentinel://a:1/', 'redis+sentinel:///main', 'redis+sentinel://a/main', 'redis+sentinel://a:70000/main', 'redis+sentinel://a:1/ma/in', 'redis+sentinel://a:1/m?x=1']) {
    t.throws(() => loadConfig({ REDIS_URL: bad }), { code: 'TESSERA_INVALID_CONFIG', message: /REDIS_URL/ }, `${bad} is refused`)
  }
  t.throws(() => loadConfig({ REDIS_URL: 'http://a:1' }), /redis:\/\/, rediss:\/\/ or redis\+sentinel:\/\//, 'another scheme is refused, naming the forms')
})

t.test('half a Sentinel configuration, or two places for Redis, stop the service with what to fix', async (t) => {
  t.throws(() => loadConfig({ TESSERA_REDIS_SENTINELS: 'a:1' }), /TESSERA_REDIS_SENTINELS is set without TESSERA_REDIS_MASTER/)
  t.throws(() => loadConfig({ TESSERA_REDIS_MASTER: 'm' }), /TESSERA_REDIS_MASTER is set without TESSERA_REDIS_SENTINELS/)
  t.throws(() => loadConfig({ TESSERA_REDIS_SENTINELS: 'a:1,b', TESSERA_REDIS_MASTER: 'm' }), /TESSERA_REDIS_SENTINELS: "b" must be host:port/)
  t.throws(() => loadConfig({ TESSERA_REDIS_SENTINELS: ' , ', TESSERA_REDIS_MASTER: 'm' }), /names no sentinel/)
  t.throws(() => loadConfig({ TESSERA_REDIS_SENTINELS: 'a:1', TESSERA_REDIS_MASTER: 'bad name' }), /TESSERA_REDIS_MASTER="bad name"/)
  t.throws(() => loadConfig({ REDIS_URL: 'redis://a:1', TESSERA_REDIS_SENTINELS: 'a:1', TESSERA_REDIS_MASTER: 'm' }), /set only one of them/)
  t.throws(() => loadConfig({ TESSERA_REDIS_HA: 'on', REDIS_URL: 'redis://a:1' }), /TESSERA_REDIS_HA=on starts our own/)
  for (const bad of ['-1', '17', 'one']) t.throws(() => loadConfig({ TESSERA_REDIS_WAIT_REPLICAS: bad }), /TESSERA_REDIS_WAIT_REPLICAS/, `${bad} replicas refused`)
  t.throws(() => loadConfig({ TESSERA_REDIS_WAIT_TIMEOUT_MS: '5' }), /TESSERA_REDIS_WAIT_TIMEOUT_MS/)
})

t.test('TESSERA_REDIS_HA=on: our own three sentinels on TESSERA_REDIS_SENTINEL_PORT and the two after it', async (t) => {
  const config = loadConfig({ TESSERA_REDIS_HA: 'on', TESSERA_REDIS_SENTINEL_PORT: '27000' })
  t.equal(redisUrlOf(config), 'redis+sentinel://127.0.0.1:27000,127.0.0.1:27001,127.0.0.1:27002/tessera')
  t.equal(config.redisWait.replicas, 1, 'writes wait for a replica')
  t.throws(() => loadConfig({ TESSERA_REDIS_HA: 'on', TESSERA_REDIS_PORT: '65535' }), /below 65534/)
})
