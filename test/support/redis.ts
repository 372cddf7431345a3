// A throwaway redis-server for one test file: our own launcher, a free port, a temp dir, no persistence.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startRedisServer } from '../../scripts/stack/redis.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'

export interface TestRedis {
  url: string
  port: number
  /** Stops the server now (to test what happens while Redis is down); teardown does it otherwise. */
  stop(): Promise<void>
}

export async function startRedis(t: { teardown(fn: () => unknown): void }): Promise<TestRedis> {
  const [port] = await freePorts(1)
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-redis-'))
  const redis = await startRedisServer({ dir, host: '127.0.0.1', port, appendonly: false })
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await redis.stop()
  }
  t.teardown(async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return { url: redis.url, port, stop }
}
