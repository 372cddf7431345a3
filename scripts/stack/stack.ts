// The whole stack on one machine: Redis (ours, unless REDIS_URL), demo content, the services as OS
// processes, and one or more varnishd edge nodes of our own. Used by `npm start` and by the integration tests.
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ContentRepository } from '../../content/repository.js'
import { seedDemoContent } from '../../content/seed.js'
import { type Config, edgeWorkDir, FRAGMENT_NAMES, redisUrlOf } from '../../fragments/kit/config.js'
import { projectRoot } from '../../fragments/kit/paths.js'
import { connectRedis } from '../../fragments/kit/redis.js'
import { startRedisServer } from './redis.js'
import { ensureSecrets, type Secrets } from './secrets.js'
import { type RunningService, SERVICE_SCRIPTS, type ServiceName, startService } from './services.js'
import { renderSiteVcl } from './site-vcl.js'
import { type RunningVarnishd, startVarnishd, writeSecretFile } from './varnishd.js'

export interface EdgeNode {
  name: string
  url: string
  port: number
  adminPort: number
  workDir: string
  secretFile: string
  varnishd: RunningVarnishd
}

export interface Stack {
  config: Config
  redisUrl: string
  secrets: Secrets
  services: Record<ServiceName, RunningService>
  edges: EdgeNode[]
  /** Kills (SIGKILL: a crash) or stops one service, then starts it again on the same port. */
  restartService(name: ServiceName, how: 'kill' | 'stop'): Promise<RunningService>
  /** Fault injection: crash a service (SIGKILL) and leave it down. */
  killService(name: ServiceName): Promise<void>
  /** Starts a service that was killed or stopped, on the same port. */
  startServiceAgain(name: ServiceName): Promise<RunningService>
  /** Fault injection: freeze a service (SIGSTOP; it accepts connections and answers nothing) or thaw it. */
  freezeService(name: ServiceName, frozen: boolean): void
  /** Our own redis-server (absent with REDIS_URL): stop it, and start it again on the same port and data. */
  redis?: { stop(): Promise<void>; start(): Promise<void> }
  /** Starts (again) one edge node that was stopped, with the same ports and work dir. */
  restartEdge(name: string): Promise<EdgeNode>
  stop(): Promise<void>
}

export interface StackOptions {
  config: Config
  log: (source: string, line: string) => void
  seed?: boolean
  /** Extra edge nodes beyond the configured one: ports for each. */
  extraEdges?: Array<{ port: number; adminPort: number; innerPort: number }>
  /** Extra environment for the services (benchmarks: TESSERA_RENDER_DELAY_MS). */
  extraEnv?: Record<string, string>
}

/** Puts every fragment's fallback in the edge's cache, so it is there when the fragment's service is not. */
export async function warmFallbacks(edgeUrl: string, log: (source: string, line: string) => void): Promise<void> {
  for (const name of FRAGMENT_NAMES) {
    const res = await fetch(`${edgeUrl}/fragments/${name}/_fallback`).catch((err: Error) => err)
    if (res instanceof Error || res.status !== 200) log('stack', `could not warm the ${name} fallback at ${edgeUrl}: ${res instanceof Error ? res.message : res.status}`)
    else await res.arrayBuffer()
  }
}

export function envFor(config: Config, redisUrl: string, secrets: Secrets): Record<string, string> {
  return {
    TESSERA_HOST: config.host,
    TESSERA_STATE_DIR: config.stateDir,
    REDIS_URL: redisUrl,
    TESSERA_LAYOUT_PORT: String(config.ports.layout),
    TESSERA_NAV_PORT: String(config.ports.nav),
    TESSERA_SIDEBAR_PORT: String(config.ports.sidebar),
    TESSERA_ARTICLE_PORT: String(config.ports.article),
    TESSERA_SECTIONS_PORT: String(config.ports.sections),
    TESSERA_CONTENT_PORT: String(config.ports.content),
    TESSERA_PURGE_PORT: String(config.ports.purge),
    TESSERA_EDGE_PORT: String(config.edge.port),
    TESSERA_EDGE_ADMIN_PORT: String(config.edge.adminPort),
    TESSERA_EDITOR_TOKEN: secrets.editorToken,
    TESSERA_OPS_TOKEN: secrets.opsToken,
    TESSERA_PURGE_SECRET: secrets.purgeSecret,
    TESSERA_DEBUG_TOKEN: secrets.debugToken,
    TESSERA_LOG_LEVEL: config.logLevel,
  }
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const { config, log } = options
  const stoppers: Array<() => Promise<void>> = []
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch((err) => log('stack', `stop failed: ${err}`))
    stoppers.length = 0
  }
  try {
    mkdirSync(config.stateDir, { recursive: true })
    const secrets = ensureSecrets(config)

    let redisUrl = redisUrlOf(config)
    let ownRedis: Stack['redis']
    if (!config.redisUrl) {
      const dir = path.join(config.stateDir, 'redis')
      mkdirSync(dir, { recursive: true })
      const startRedis = () => startRedisServer({ dir, host: config.host, port: config.redisPort, appendonly: true, log: (l) => log('redis', l) })
      let redis: Awaited<ReturnType<typeof startRedis>> | undefined = await startRedis()
      redisUrl = redis.url
      ownRedis = {
        async stop() {
          await redis?.stop()
          redis = undefined
        },
        async start() {
          redis ??= await startRedis()
        },
      }
      stoppers.push(() => ownRedis!.stop())
    }

    if (options.seed !== false) {
      const redis = connectRedis(redisUrl, 'seed')
      try {
        const { seeded } = await seedDemoContent(new ContentRepository(redis))
        log('stack', seeded ? 'seeded demo content' : 'content store already has content; not seeding')
      } finally {
        redis.disconnect()
      }
    }

    const edgeSpecs = [{ port: config.edge.port, adminPort: config.edge.adminPort, innerPort: config.edge.innerPort }, ...(options.extraEdges ?? [])]
    const secretFile = path.join(config.stateDir, 'varnish-secret')
    await writeSecretFile(secretFile)
    const env = {
      ...envFor(config, redisUrl, secrets),
      TESSERA_EDGE_NODES: edgeSpecs.map((e) => `http://${config.host}:${e.port}`).join(','),
      TESSERA_EDGE_ADMINS: edgeSpecs.map((e) => `${config.host}:${e.adminPort}`).join(','),
      TESSERA_EDGE_ADMIN_SECRET_FILE: secretFile,
      TESSERA_EDGE_WORKDIRS: edgeSpecs.map((_, i) => edgeWorkDir(config.stateDir, i)).join(','),
      ...options.extraEnv,
    }
    const services = {} as Record<ServiceName, RunningService>
    const startNamed = async (name: ServiceName) => {
      services[name] = await startService({ name, script: SERVICE_SCRIPTS[name], port: config.ports[name], host: config.host, env, log: (l) => log(name, l) })
      stoppers.push(() => services[name].stop())
    }
    // The origins first, then the edge in front of them, then the purge service that talks to the edge.
    await Promise.all((Object.keys(SERVICE_SCRIPTS) as ServiceName[]).filter((n) => n !== 'purge').map(startNamed))

    const vclDir = path.join(config.stateDir, 'vcl')
    const backends = Object.fromEntries(
      [...FRAGMENT_NAMES.map((n) => [n, config.ports[n]] as const), ['layout', config.ports.layout] as const].map(([n, port]) => [n, { host: config.host, port }]),
    ) as Parameters<typeof renderSiteVcl>[0]['backends']
    // The page tier's inner address is on loopback whatever the front listens on: only the edge itself uses it.
    const innerHost = '127.0.0.1'
    const startEdge = async (index: number): Promise<EdgeNode> => {
      const spec = edgeSpecs[index]
      const name = `edge${index + 1}`
      const workDir = edgeWorkDir(config.stateDir, index)
      mkdirSync(workDir, { recursive: true })
      // Each node's site VCL names its own inner address.
      const siteDir = path.join(vclDir, name)
      mkdirSync(siteDir, { recursive: true })
      const pageTier = config.edge.pageTier ? { host: innerHost, port: spec.innerPort } : undefined
      writeFileSync(
        path.join(siteDir, 'tessera-site.vcl'),
        renderSiteVcl({ backends, purgeAcl: ['127.0.0.1', '::1'], purgeSecret: secrets.purgeSecret, debugToken: secrets.debugToken, pageTier }),
      )
      const varnishd = await startVarnishd({
        workDir,
        listen: [{ name: 'front', host: config.host, port: spec.port }, ...(pageTier ? [{ name: 'inner', ...pageTier }] : [])],
        adminHost: config.host,
        adminPort: spec.adminPort,
        secretFile,
        vclFile: path.join(projectRoot, 'varnish', 'default.vcl'),
        vclPath: [siteDir, path.join(projectRoot, 'varnish')],
        params: {
          // An assembly restarts once per include it measures (varnish/tier.vcl), plus stale.vcl's retries.
          max_restarts: '24',
          // A warm page is served tens of thousands of times a second: its response headers (an assembled page
          // carries every key of its includes) and the removal of each internal one were most of what it
          // wrote to the shared log. Debugging them: `varnishadm param.set vsl_mask +RespHeader`, or the
          // X-Tessera-Debug token, which shows them on the response.
          vsl_mask: '-RespHeader,-RespUnset,-ReqUnset,-BereqUnset,-BerespUnset',
        },
        storageMb: config.edge.storageMb,
        log: (l) => log(name, l),
      })
      return { name, url: `http://${config.host}:${spec.port}`, port: spec.port, adminPort: spec.adminPort, workDir, secretFile, varnishd }
    }
    const edges: EdgeNode[] = []
    for (let i = 0; i < edgeSpecs.length; i++) {
      edges.push(await startEdge(i))
      stoppers.push(() => edges[i].varnishd.stop())
    }

    await startNamed('purge')
    for (const edge of edges) await warmFallbacks(edge.url, log)

    const stack: Stack = {
      config,
      redisUrl,
      secrets,
      services,
      edges,
      redis: ownRedis,
      async killService(name) {
        const running = services[name].process
        if (running.exitCode !== null || running.signalCode !== null) return
        running.kill('SIGCONT') // a frozen process must be able to die
        running.kill('SIGKILL')
        await new Promise((r) => running.once('exit', r))
      },
      async startServiceAgain(name) {
        services[name] = await startService({ name, script: SERVICE_SCRIPTS[name], port: config.ports[name], host: config.host, env, log: (l) => log(name, l) })
        return services[name]
      },
      freezeService(name, frozen) {
        services[name].process.kill(frozen ? 'SIGSTOP' : 'SIGCONT')
      },
      async restartService(name, how) {
        if (how === 'kill') await stack.killService(name)
        else await services[name].stop()
        return stack.startServiceAgain(name)
      },
      async restartEdge(name) {
        const index = edges.findIndex((e) => e.name === name)
        if (index === -1) throw new Error(`no edge node ${name}`)
        await edges[index].varnishd.stop()
        edges[index] = await startEdge(index)
        await warmFallbacks(edges[index].url, log)
        return edges[index]
      },
      stop: stopAll,
    }
    return stack
  } catch (err) {
    await stopAll()
    throw err
  }
}
