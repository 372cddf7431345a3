// TESSERA_REDIS_HA: one primary, its replicas and three sentinels on this machine, each redis-server with its
// data in its own dir under the state dir. The services reach them only through the sentinels.
import path from 'node:path'
import { Redis } from 'ioredis'
import { redisSentinelUrl } from '../../platform/config.js'
import { RedisServerStartFailed, type RunningRedis, startRedisServer, startRedisSentinel } from './redis.js'

export interface StartRedisHaOptions {
  dir: string
  host: string
  /** The first is started as the primary, the others as its replicas. */
  serverPorts: number[]
  sentinelPorts: number[]
  master: string
  log: (source: string, line: string) => void
  /** How long the primary may not answer before the sentinels fail it over (default 1000 ms). */
  downAfterMs?: number
}

export interface RunningRedisHa {
  /** redis+sentinel://…/<master>: what the services are given as REDIS_URL. */
  url: string
  serverPorts: number[]
  sentinelPorts: number[]
  /** The port of the primary as the sentinels name it now. */
  primaryPort(): Promise<number>
  /** Fault injection: SIGKILL the redis-server on `port` (a crash: nothing flushed, no goodbye to anyone). */
  kill(port: number): Promise<void>
  /** Starts the redis-server on `port` again, with its data dir, as a replica of the current primary. */
  restart(port: number): Promise<void>
  /** Resolves once every sentinel names the same primary and sees every running server but it as its replica, in sync. */
  settled(timeoutMs?: number): Promise<number>
  stop(): Promise<void>
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** One answer of SENTINEL replicas / masters as field -> value. */
function fieldsOf(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1]
  return out
}

export async function startRedisHa(opts: StartRedisHaOptions): Promise<RunningRedisHa> {
  const { host, master } = opts
  const servers = new Map<number, RunningRedis | undefined>()
  const sentinels: RunningRedis[] = []
  // A replica must be connected and no more than this far behind for the primary to take writes: a primary
  // cut off from every replica refuses them (NOREPLICAS, a 503) rather than take writes a failover would drop.
  const durability = ['--min-replicas-to-write', '1', '--min-replicas-max-lag', '10']
  // A replica (re)joining is sent the data set over the socket at once, no RDB on disk first.
  const sync = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0']
  const startServer = async (port: number, replicaOf?: number) => {
    servers.set(port, await startRedisServer({
      dir: path.join(opts.dir, `server-${port}`),
      host,
      port,
      appendonly: true,
      extraArgs: [...durability, ...sync, ...(replicaOf === undefined ? [] : ['--replicaof', host, String(replicaOf)])],
      log: (l) => opts.log(`redis:${port}`, l),
    }))
  }
  const ask = async <T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 })
    r.on('error', () => undefined)
    try {
      await r.connect()
      return await fn(r)
    } finally {
      r.disconnect()
    }
  }
  const stop = async () => {
    // Sentinels first: none of them fails anything over while the servers go down.
    for (const s of sentinels.splice(0)) await s.stop()
    for (const [port, s] of [...servers].reverse()) {
      await s?.stop()
      servers.set(port, undefined)
    }
  }

  const settled = async (timeoutMs = 30_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs
    let last = ''
    for (;;) {
      try {
        const views = await Promise.all(opts.sentinelPorts.map((p) => ask(p, async (r) => {
          const [ip, port] = (await r.call('SENTINEL', 'get-master-addr-by-name', master)) as [string, string]
          const replicas = ((await r.call('SENTINEL', 'replicas', master)) as string[][]).map(fieldsOf)
          const info = fieldsOf((await r.call('SENTINEL', 'master', master)) as string[])
          return { primary: Number(port), ip, replicas, flags: info.flags, sentinels: Number(info['num-other-sentinels']) }
        })))
        const primary = views[0].primary
        const running = [...servers].filter(([port, s]) => s !== undefined && port !== primary).map(([port]) => port).sort()
        const inSync = await ask(primary, async (r) => {
          const info = await r.info('replication')
          return running.every((port) => new RegExp(`slave\\d+:ip=[^,]+,port=${port},state=online`).test(info))
        })
        const agreed = views.every((v) => v.primary === primary && v.flags === 'master' && v.sentinels === opts.sentinelPorts.length - 1 &&
          running.every((port) => v.replicas.some((r) => Number(r.port) === port && r.flags === 'slave' && r['master-link-status'] === 'ok')))
        if (agreed && inSync) return primary
        last = JSON.stringify(views.map((v) => ({ primary: v.primary, flags: v.flags, sentinels: v.sentinels, replicas: v.replicas.map((r) => `${r.port}:${r.flags}`) })))
      } catch (err) {
        last = (err as Error).message
      }
      if (Date.now() > deadline) throw new RedisServerStartFailed(`the Redis Sentinel set did not settle within ${timeoutMs} ms (every sentinel naming one primary and seeing each running server as its replica); last seen: ${last}`)
      await sleep(100)
    }
  }

  try {
    const [primary, ...replicas] = opts.serverPorts
    await startServer(primary)
    for (const port of replicas) await startServer(port, primary)
    const downAfter = opts.downAfterMs ?? 1000
    for (const port of opts.sentinelPorts) {
      sentinels.push(await startRedisSentinel({
        dir: path.join(opts.dir, `sentinel-${port}`),
        host,
        port,
        configLines: [
          // A majority of the three must agree that the primary is down before one of them fails it over.
          `sentinel monitor ${master} ${host} ${primary} ${Math.floor(opts.sentinelPorts.length / 2) + 1}`,
          `sentinel down-after-milliseconds ${master} ${downAfter}`,
          `sentinel failover-timeout ${master} ${Math.max(5 * downAfter, 5000)}`,
          `sentinel parallel-syncs ${master} 1`,
        ],
        log: (l) => opts.log(`sentinel:${port}`, l),
      }))
    }
    await settled()
  } catch (err) {
    await stop()
    throw err
  }

  const primaryPort = async (): Promise<number> => {
    for (const port of opts.sentinelPorts) {
      try {
        return await ask(port, async (r) => Number(((await r.call('SENTINEL', 'get-master-addr-by-name', master)) as [string, string])[1]))
      } catch {
        // that sentinel is not answering; ask the next
      }
    }
    throw new RedisServerStartFailed('no sentinel answered where the primary is')
  }

  return {
    url: redisSentinelUrl({ sentinels: opts.sentinelPorts.map((port) => ({ host, port })), master }),
    serverPorts: opts.serverPorts,
    sentinelPorts: opts.sentinelPorts,
    primaryPort,
    async kill(port) {
      const server = servers.get(port)
      if (!server) throw new Error(`no running redis-server on port ${port}`)
      process.kill(server.pid, 'SIGKILL')
      await server.exited
      await server.stop() // disarms its watchdog
      servers.set(port, undefined)
    },
    async restart(port) {
      if (servers.get(port)) throw new Error(`the redis-server on port ${port} is running`)
      await startServer(port, await primaryPort())
    },
    settled,
    stop,
  }
}
