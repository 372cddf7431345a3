import { Redis, type RedisOptions } from 'ioredis'
import { type Config, parseRedisSentinelUrl, type RedisWait, redisUrlOf } from './config.js'
import { StoreNotReplicated, StoreUnavailable, TesseraError } from './errors.js'

// What each client must confirm after a write (connectRedis's `wait`); a client without an entry does no WAIT.
const waits = new WeakMap<Redis, RedisWait>()

/**
 * A Redis client that reconnects forever with capped backoff, and fails a command fast while disconnected
 * (so a request answers 503 instead of hanging while Redis is down). `url` is redis://, rediss:// or
 * redis+sentinel://host:port,.../<master>: then the client asks the sentinels where the primary is, and asks
 * again on every reconnect, so it follows a failover by itself.
 */
export function connectRedis(url: string, name: string, wait?: RedisWait): Redis {
  const common: RedisOptions = {
    connectionName: `tessera-${name}`,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(50 * attempt, 2000),
  }
  let redis: Redis
  if (url.startsWith('redis+sentinel:')) {
    const target = parseRedisSentinelUrl(url)
    redis = new Redis({
      ...common,
      sentinels: target.sentinels,
      name: target.master,
      role: 'master',
      // Every sentinel unreachable: keep asking, as the plain client keeps reconnecting.
      sentinelRetryStrategy: (attempt) => Math.min(100 * attempt, 2000),
      sentinelCommandTimeout: 1000,
      connectTimeout: 2000,
      // A primary demoted while we were connected answers writes with READONLY: reconnect (the sentinels now
      // name the new primary) and send the command again there.
      reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
    })
  } else {
    redis = new Redis(url, common)
  }
  if (wait && wait.replicas > 0) waits.set(redis, wait)
  return redis
}

/** The client a service uses: the configured Redis (plain or Sentinel), confirming writes as configured. */
export function connectConfiguredRedis(config: Config, name: string): Redis {
  return connectRedis(redisUrlOf(config), name, config.redisWait)
}

/**
 * After a write the caller is about to acknowledge: when the client was made with `wait`, blocks until that
 * many replicas have every write this connection made (WAIT), else throws StoreNotReplicated. `what` names
 * the write in the error.
 */
export async function confirmReplicated(redis: Redis, what: string): Promise<void> {
  const wait = waits.get(redis)
  if (wait === undefined) return
  let reached: number
  try {
    reached = await redis.wait(wait.replicas, wait.timeoutMs)
  } catch (err) {
    throw storeError(err)
  }
  if (reached < wait.replicas) throw new StoreNotReplicated(what, wait.replicas, reached, wait.timeoutMs)
}

/** Connection-level failures (down, refused, reset, gave up retrying) and Redis saying it cannot serve now. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err.name === 'ReplyError') {
    // A MULTI whose queued commands were refused (NOREPLICAS from a primary just promoted) aborts as a whole.
    if (err.message.startsWith('EXECABORT')) return ((err as Error & { previousErrors?: unknown[] }).previousErrors ?? []).some(isRedisUnavailable)
    return /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|BUSY|NOREPLICAS)\b/.test(err.message)
  }
  if (err.name === 'MaxRetriesPerRequestError') return true
  const code = (err as Error & { code?: string }).code
  if (code !== undefined && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code)) return true
  return /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Command timed out|All sentinels are unreachable|Failed to connect to sentinel|is not a master/i.test(err.message)
}

/** A Redis failure as the error an API answers with: "Redis is not there" becomes StoreUnavailable (503). */
export function storeError(err: unknown): unknown {
  if (err instanceof TesseraError || !isRedisUnavailable(err)) return err
  return new StoreUnavailable(err)
}
