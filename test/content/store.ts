// A content store on a throwaway redis-server, plus the probes tests use to see what really happened in Redis.
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { buildContentApi } from '../../content/api/app.js'
import { ContentRepository } from '../../content/repository.js'
import { EVENTS_STREAM, type ChangeEvent } from '../../content/model.js'
import { startRedis, type TestRedis } from '../support/redis.js'

type Teardown = { teardown(fn: () => unknown): void }

export interface TestStore {
  server: TestRedis
  redis: Redis
  repo: ContentRepository
  /** Another client + repository on its own connection (a second content API process, as far as Redis can tell). */
  connect(): { redis: Redis; repo: ContentRepository }
  /** Every event in the stream, oldest first; each stream entry must carry exactly the one field `event`. */
  events(): Promise<ChangeEvent[]>
  /** Every key and its DUMP, to prove that a refused request changed nothing. */
  snapshot(): Promise<Record<string, string>>
}

export async function openStore(t: Teardown): Promise<TestStore> {
  const server = await startRedis(t)
  const clients: Redis[] = []
  const connect = () => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(50 * n, 500) })
    redis.on('error', () => undefined)
    clients.push(redis)
    return { redis, repo: new ContentRepository(redis) }
  }
  t.teardown(() => clients.forEach((c) => c.disconnect()))
  const { redis, repo } = connect()

  const events = async (): Promise<ChangeEvent[]> => {
    const entries = await redis.xrange(EVENTS_STREAM, '-', '+')
    return entries.map(([id, fields]) => {
      if (fields.length !== 2 || fields[0] !== 'event') throw new Error(`stream entry ${id} has fields ${JSON.stringify(fields)}, expected only "event"`)
      return JSON.parse(fields[1]!) as ChangeEvent
    })
  }
  const snapshot = async (): Promise<Record<string, string>> => {
    const keys = (await redis.keys('*')).sort()
    const out: Record<string, string> = {}
    for (const key of keys) out[key] = (await redis.dumpBuffer(key))?.toString('hex') ?? ''
    return out
  }
  return { server, redis, repo, connect, events, snapshot }
}

export const TEST_EDITOR_TOKEN = 'editor-token-for-tests-0123456789'

/** The content API (app.inject) over a throwaway store, with the editor token TEST_EDITOR_TOKEN. */
export async function openContentApi(t: Teardown): Promise<{ store: TestStore; app: FastifyInstance }> {
  const store = await openStore(t)
  const app = buildContentApi({ repo: store.repo, editorToken: TEST_EDITOR_TOKEN, logLevel: 'silent' })
  t.teardown(() => app.close())
  await app.ready()
  return { store, app }
}
