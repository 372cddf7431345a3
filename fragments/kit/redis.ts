import { Redis } from 'ioredis'

/**
 * A Redis client that reconnects forever with capped backoff, and fails a command fast while disconnected
 * (so a request answers 503 instead of hanging while Redis is down).
 */
export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: `tessera-${name}`,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(50 * attempt, 2000),
  })
}
