import { ReplyError } from 'ioredis'
import t from 'tap'
import { isRedisUnavailable, storeError } from '../../platform/redis.js'

const reply = (message: string, previousErrors?: Error[]) => Object.assign(new ReplyError(message), previousErrors ? { previousErrors } : {})

t.test('what a failover looks like to a client is "the store is not there" (503), a bug is not', async (t) => {
  for (const err of [
    reply('NOREPLICAS Not enough good replicas to write.'),
    reply("READONLY You can't write against a read only replica."),
    reply('EXECABORT Transaction discarded because of previous errors.', [reply('NOREPLICAS Not enough good replicas to write.')]),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' }),
    new Error('All sentinels are unreachable. Retrying from scratch after 100ms.'),
    new Error('Connection is closed.'),
  ]) {
    t.ok(isRedisUnavailable(err), err.message)
    t.match(storeError(err), { code: 'TESSERA_STORE_UNAVAILABLE', statusCode: 503 })
  }
  for (const err of [
    reply('EXECABORT Transaction discarded because of previous errors.', [reply("ERR wrong number of arguments for 'sadd' command")]),
    reply('WRONGTYPE Operation against a key holding the wrong kind of value'),
    new TypeError('x is undefined'),
  ]) {
    t.notOk(isRedisUnavailable(err), `${err.message}: not a 503`)
    t.equal(storeError(err), err, 'passed through as it is (a 500)')
  }
})
