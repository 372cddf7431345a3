// The whole stack on one machine: Redis (ours, unless REDIS_URL), demo content, the services as OS
// processes, and one or more varnishd edge nodes of our own. Used by `npm start` and by the integration tests.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ContentRepository } from '../../content/repository.js'
import { seedDemoContent } from '../../content/seed.js'
import { type Config, edgeWorkDir, FRAGMENT_NAMES, ORIGIN_NAMES, OWN_HA_SERVERS, OWN_MASTER_NAME, type OriginName, ownSentinelTarget, redisUrlOf, shieldWorkDir } from '../../platform/config.js'
import { projectRoot } from '../../platform/paths.js'
import { connectRedis } from '../../platform/redis.js'
import { startRedisServer } from './redis.js'
import { type RunningRedisHa, startRedisHa } from './redis-ha.js'
import { routeSources } from '../../topology/routes.js'
import { ensureSecrets, type Secrets } from '../../platform/secrets.js'
import { type RunningService, SERVICE_SCRIPTS, type ServiceName, startService } from './services.js'
import { localSiteFile, type ReloadReport, reloadEdges, routesVclFromConfig, type SiteSettings, siteVclForEdge, siteVclForShield } from '../../topology/reload.js'
import { defaultTopology, formatHostPort, type HostPort, innerAddressOf, loadTopology, type Topology } from '../../topology/topology.js'
import { type RunningVarnishd, startVarnishd, writeSecretFile } from './varnishd.js'

export interface EdgeNode {
  name: string
  url: string
  port: number
  adminHost: string
  adminPort: number
  workDir: string
  secretFile: string
  varnishd: RunningVarnishd
}

export interface Stack {
  config: Config
  redisUrl: string
  secrets: Secrets
  /** The first instance of each service (the only one, unless TESSERA_INSTANCES or a topology says more). */
  services: Record<ServiceName, RunningService>
  /** Every instance of each service behind the edge, in topology order (instance n is backend tessera_<name>_<n>). */
  instances: Record<OriginName, RunningService[]>
  /** Where everything runs: the topology the site VCL was generated from. */
  topology: Topology
  edges: EdgeNode[]
  /** The shield tier (TESSERA_SHIELD=on, or the topology's shields): varnishd nodes between the edges and the origins. */
  shields: EdgeNode[]
  /** Fault injection: SIGKILL one shield's varnishd, manager and cache process (start it again with restartShield). */
  killShield(name: string): Promise<void>
  /** Starts (again) a shield that was stopped: same ports and work dir, an empty cache. */
  restartShield(name: string): Promise<EdgeNode>
  /**
   * Starts one more edge node with this stack's VCL (through the shield tier when it is on), known to nobody:
   * the purge service does not purge it (the live edge set is PUT /edges). For measuring a cold node.
   */
  startLooseEdge(name: string, ports: { port: number; adminPort: number; innerPort: number }): Promise<EdgeNode>
  /** The simulated legacy CMS (TESSERA_DEMO_LEGACY=on). */
  legacyDemo?: RunningService
  /** The routes file in use (the last one reloadRoutes read). */
  routesFile(): string | undefined
  /**
   * Reads the routes file (TESSERA_ROUTES, or `file`) again and loads the new site VCL hot on every edge
   * (topology/reload.ts: vcl.inline + vcl.use): no restart, nothing cached lost.
   */
  reloadRoutes(file?: string): Promise<ReloadReport>
  /** Fault injection: crash one instance (SIGKILL; 0-based index) and leave it down. */
  killInstance(name: OriginName, index: number): Promise<void>
  /** Starts one more process of a service at host:port (not in the site VCL until a reload names it). */
  startInstance(name: OriginName, at: HostPort): Promise<RunningService>
  /**
   * Starts one more purge-service instance at host:port, against the same Redis and edges: another consumer in
   * the group (its name is host:port), sharing the live edge set and the queue leases. Kill it with killProcess.
   */
  startPurgeInstance(at: HostPort): Promise<RunningService>
  /** Fault injection: SIGKILL one process this stack started (a crash) and wait for it to exit. */
  killProcess(running: RunningService): Promise<void>
  /** Kills (SIGKILL: a crash) or stops one service (every instance), then starts it again on the same port(s). */
  restartService(name: ServiceName, how: 'kill' | 'stop'): Promise<RunningService>
  /** Fault injection: crash a service (SIGKILL; every instance) and leave it down. */
  killService(name: ServiceName): Promise<void>
  /** Starts a service (every instance) that was killed or stopped, on the same port(s); resolves with the first. */
  startServiceAgain(name: ServiceName): Promise<RunningService>
  /** Fault injection: freeze a service (every instance; SIGSTOP: it accepts connections and answers nothing) or thaw it. */
  freezeService(name: ServiceName, frozen: boolean): void
  /** Our own redis-server (absent with REDIS_URL): stop it, and start it again on the same port and data. */
  redis?: { stop(): Promise<void>; start(): Promise<void> }
  /** Our own primary, replicas and sentinels (TESSERA_REDIS_HA=on): find the primary, kill a server, restart it. */
  redisHa?: RunningRedisHa
  /** Starts (again) one edge node that was stopped, with the same ports and work dir. */
  restartEdge(name: string): Promise<EdgeNode>
  stop(): Promise<void>
}

export interface StackOptions {
  config: Config
  log: (source: string, line: string) => void
  seed?: boolean
  /** Extra edge nodes beyond the configured one: ports for each (ignored when a topology is given). */
  extraEdges?: Array<{ port: number; adminPort: number; innerPort: number }>
  /** Where everything runs; default: TESSERA_TOPOLOGY's file, else one machine (TESSERA_INSTANCES, the ports). */
  topology?: Topology
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
    // Where Redis is, said once: a redis:// URL or our own or another Sentinel set's redis+sentinel:// one.
    REDIS_URL: redisUrl,
    TESSERA_REDIS_HA: 'off',
    TESSERA_REDIS_SENTINELS: '',
    TESSERA_REDIS_MASTER: '',
    TESSERA_REDIS_WAIT_REPLICAS: String(config.redisWait.replicas),
    TESSERA_REDIS_WAIT_TIMEOUT_MS: String(config.redisWait.timeoutMs),
    TESSERA_LAYOUT_PORT: String(config.ports.layout),
    TESSERA_NAV_PORT: String(config.ports.nav),
    TESSERA_SIDEBAR_PORT: String(config.ports.sidebar),
    TESSERA_ARTICLE_PORT: String(config.ports.article),
    TESSERA_SECTIONS_PORT: String(config.ports.sections),
    TESSERA_CONTENT_PORT: String(config.ports.content),
    TESSERA_PURGE_PORT: String(config.ports.purge),
    TESSERA_EDGE_PORT: String(config.edge.port),
    TESSERA_EDGE_ADMIN_PORT: String(config.edge.adminPort),
    // The purge service renders the site VCL of an edge that joins (PUT /edges) and of a reload: as the launcher's.
    TESSERA_EDGE_INNER_PORT: String(config.edge.innerPort),
    TESSERA_PAGE_TIER: config.edge.pageTier ? 'on' : 'off',
    TESSERA_PAGE_TIER_LATE_INCLUDES: config.edge.lateIncludes.join(' '),
    TESSERA_EDITOR_TOKEN: secrets.editorToken,
    TESSERA_OPS_TOKEN: secrets.opsToken,
    TESSERA_PURGE_SECRET: secrets.purgeSecret,
    TESSERA_DEBUG_TOKEN: secrets.debugToken,
    TESSERA_PREVIEW_SECRET: secrets.previewSecret,
    TESSERA_LOG_LEVEL: config.logLevel,
  }
}

const isDown = (running: RunningService) => running.process.exitCode !== null || running.process.signalCode !== null

async function kill(running: RunningService): Promise<void> {
  if (isDown(running)) return
  const exited = new Promise((r) => running.process.once('exit', r))
  running.process.kill('SIGCONT') // a frozen process must be able to die
  running.process.kill('SIGKILL')
  await exited
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
    // The routes file is checked before anything starts: a bad one stops the launcher with every problem listed.
    let routesFile = routeSources(config).routesFile
    const site: SiteSettings = { purgeSecret: secrets.purgeSecret, debugToken: secrets.debugToken, pageTier: config.edge.pageTier, lateIncludes: config.edge.lateIncludes, routesVcl: routesVclFromConfig(config) }

    let redisUrl = redisUrlOf(config)
    let ownRedis: Stack['redis']
    let redisHa: RunningRedisHa | undefined
    if (config.redisHa) {
      const target = ownSentinelTarget(config)
      redisHa = await startRedisHa({
        dir: path.join(config.stateDir, 'redis-ha'),
        host: config.host,
        serverPorts: Array.from({ length: OWN_HA_SERVERS }, (_, i) => config.redisPort + i),
        sentinelPorts: target.sentinels.map((s) => s.port),
        master: OWN_MASTER_NAME,
        log,
      })
      redisUrl = redisHa.url
      stoppers.push(() => redisHa!.stop())
    } else if (!config.redisUrl && !config.redisSentinel) {
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
      const redis = connectRedis(redisUrl, 'seed', config.redisWait)
      try {
        const { seeded } = await seedDemoContent(new ContentRepository(redis))
        log('stack', seeded ? 'seeded demo content' : 'content store already has content; not seeding')
      } finally {
        redis.disconnect()
      }
    }

    const topology = options.topology ?? (config.topologyFile ? loadTopology(config) : defaultTopology(config, options.extraEdges))
    const edgeWorkDirOf = (index: number) => topology.edges[index].workdir ?? edgeWorkDir(config.stateDir, index)
    const shieldWorkDirOf = (index: number) => topology.shields[index].workdir ?? shieldWorkDir(config.stateDir, index)
    const secretFile = path.join(config.stateDir, 'varnish-secret')
    await writeSecretFile(secretFile)
    const env = {
      ...envFor(config, redisUrl, secrets),
      TESSERA_EDGE_NODES: topology.edges.map((e) => e.url).join(','),
      TESSERA_EDGE_ADMINS: topology.edges.map((e) => formatHostPort(e.admin)).join(','),
      TESSERA_EDGE_ADMIN_SECRET_FILE: secretFile,
      TESSERA_EDGE_WORKDIRS: topology.edges.map((_, i) => edgeWorkDirOf(i)).join(','),
      ...(config.topologyFile ? { TESSERA_TOPOLOGY: config.topologyFile } : {}),
      ...(topology.shields.length
        ? {
            TESSERA_SHIELD_NODES: topology.shields.map((s) => s.url).join(','),
            TESSERA_SHIELD_ADMINS: topology.shields.map((s) => formatHostPort(s.admin)).join(','),
            TESSERA_SHIELD_WORKDIRS: topology.shields.map((_, i) => shieldWorkDirOf(i)).join(','),
          }
        : {}),
      ...options.extraEnv,
    }
    const services = {} as Record<ServiceName, RunningService>
    const instances = Object.fromEntries(ORIGIN_NAMES.map((n) => [n, [] as RunningService[]])) as Record<OriginName, RunningService[]>
    const isOrigin = (name: ServiceName): name is OriginName => (ORIGIN_NAMES as readonly string[]).includes(name)
    // One process per instance, listening on the instance's own host and port (a host is one machine, or in
    // tests one loopback address of this one).
    const launch = async (name: ServiceName, at: HostPort, label: string): Promise<RunningService> => {
      const running = await startService({ name: label, script: SERVICE_SCRIPTS[name], port: at.port, host: at.host, env: { ...env, TESSERA_HOST: at.host }, log: (l) => log(label, l) })
      stoppers.push(() => running.stop())
      return running
    }
    const labelOf = (name: OriginName, index: number) => (topology.services[name].length > 1 ? `${name}.${index + 1}` : name)
    const startOrigin = async (name: OriginName, index: number) => {
      instances[name][index] = await launch(name, topology.services[name][index], labelOf(name, index))
      if (index === 0) services[name] = instances[name][0]
    }
    const startNamed = async (name: ServiceName) => {
      if (isOrigin(name)) await Promise.all(topology.services[name].map((_, i) => startOrigin(name, i)))
      else services[name] = await launch(name, { host: config.host, port: config.ports[name] }, name)
    }
    // The origins first, then the edge in front of them, then the purge service that talks to the edge.
    await Promise.all((Object.keys(SERVICE_SCRIPTS) as ServiceName[]).filter((n) => n !== 'purge').map(startNamed))
    let legacyDemo: RunningService | undefined
    if (config.demoLegacy) {
      // The simulated legacy CMS (legacy-demo/), its own process on its own port, behind the edge.
      const demo = await startService({ name: 'legacy-demo', script: 'legacy-demo/server.js', port: config.demoLegacyPort, host: config.host, env, log: (l) => log('legacy', l) })
      stoppers.push(() => demo.stop())
      legacyDemo = demo
    }

    const startEdge = (index: number): Promise<EdgeNode> => {
      const spec = topology.edges[index]
      return startNode({ role: 'edge', name: spec.name, url: spec.url, admin: spec.admin, workDir: edgeWorkDirOf(index), pageTier: config.edge.pageTier ? innerAddressOf(spec) : undefined, siteVcl: siteVclForEdge(topology, spec, site) })
    }
    // A shield (varnish/shield.vcl) listens as "shield", with no page tier; the edges reach it first.
    const startShield = (index: number): Promise<EdgeNode> => {
      const spec = topology.shields[index]
      return startNode({ role: 'shield', name: spec.name, url: spec.url, admin: spec.admin, workDir: shieldWorkDirOf(index), siteVcl: siteVclForShield(topology, site) })
    }
    const startNode = async (spec: { role: 'edge' | 'shield'; name: string; url: string; admin: HostPort; workDir: string; pageTier?: HostPort; siteVcl: string }): Promise<EdgeNode> => {
      const { name, workDir, pageTier } = spec
      const front = new URL(spec.url)
      const port = Number(front.port || 80)
      mkdirSync(workDir, { recursive: true })
      // Each node's site VCL names its own inner address (the page tier's, on loopback: only the edge uses it).
      const siteFile = localSiteFile(config.stateDir, name)
      const siteDir = path.dirname(siteFile)
      mkdirSync(siteDir, { recursive: true })
      writeFileSync(siteFile, spec.siteVcl)
      const varnishd = await startVarnishd({
        workDir,
        listen: [{ name: spec.role === 'shield' ? 'shield' : 'front', host: front.hostname.replace(/^\[(.*)\]$/, '$1'), port }, ...(pageTier ? [{ name: 'inner', ...pageTier }] : [])],
        adminHost: spec.admin.host,
        adminPort: spec.admin.port,
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
      return { name, url: spec.url, port, adminHost: spec.admin.host, adminPort: spec.admin.port, workDir, secretFile, varnishd }
    }
    // The shields before the edges that fetch from them.
    const shields: EdgeNode[] = []
    for (let i = 0; i < topology.shields.length; i++) {
      shields.push(await startShield(i))
      stoppers.push(() => shields[i].varnishd.stop())
    }
    const looseEdges: EdgeNode[] = []
    stoppers.push(async () => {
      for (const e of looseEdges) await e.varnishd.stop()
    })
    const edges: EdgeNode[] = []
    for (let i = 0; i < topology.edges.length; i++) {
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
      instances,
      topology,
      edges,
      shields,
      async killShield(name) {
        const shield = shields.find((s) => s.name === name)
        if (!shield) throw new Error(`no shield ${name}`)
        const worker = await shield.varnishd.workerPid()
        process.kill(shield.varnishd.pid, 'SIGKILL')
        process.kill(worker, 'SIGKILL')
        await shield.varnishd.exited
      },
      async restartShield(name) {
        const index = shields.findIndex((s) => s.name === name)
        if (index === -1) throw new Error(`no shield ${name}`)
        await shields[index].varnishd.stop()
        shields[index] = await startShield(index)
        return shields[index]
      },
      async startLooseEdge(name, ports) {
        const spec = { name, url: `http://${config.host}:${ports.port}`, admin: { host: config.host, port: ports.adminPort }, inner: { host: '127.0.0.1', port: ports.innerPort } }
        const edge = await startNode({ role: 'edge', ...spec, workDir: path.join(config.stateDir, 'varnish', name), pageTier: config.edge.pageTier ? spec.inner : undefined, siteVcl: siteVclForEdge(topology, spec, site) })
        looseEdges.push(edge)
        await warmFallbacks(edge.url, log)
        return edge
      },
      legacyDemo,
      routesFile: () => routesFile,
      redis: ownRedis,
      redisHa,
      killInstance(name, index) {
        return kill(instances[name][index])
      },
      startPurgeInstance(at) {
        return launch('purge', at, `purge+${formatHostPort(at)}`)
      },
      killProcess: kill,
      async startInstance(name, at) {
        const running = await launch(name, at, `${name}+${formatHostPort(at)}`)
        instances[name].push(running)
        return running
      },
      async killService(name) {
        await Promise.all((isOrigin(name) ? instances[name] : [services[name]]).map(kill))
      },
      async startServiceAgain(name) {
        if (!isOrigin(name)) return (services[name] = await launch(name, { host: config.host, port: config.ports[name] }, name))
        await Promise.all(topology.services[name].map((_, i) => (isDown(instances[name][i]) ? startOrigin(name, i) : undefined)))
        return services[name]
      },
      freezeService(name, frozen) {
        for (const running of isOrigin(name) ? instances[name] : [services[name]]) running.process.kill(frozen ? 'SIGSTOP' : 'SIGCONT')
      },
      async restartService(name, how) {
        if (how === 'kill') await stack.killService(name)
        else await Promise.all((isOrigin(name) ? instances[name] : [services[name]]).map((s) => s.stop()))
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
      async reloadRoutes(file) {
        const nextFile = file ?? routesFile
        site.routesVcl = routesVclFromConfig(config, nextFile) // a bad file throws here, before anything changes
        routesFile = nextFile
        const report = await reloadEdges(topology, { adminSecret: readFileSync(secretFile), site, log: (l) => log('reload', l) })
        // A restart of a varnishd boots what it runs now.
        for (const edge of topology.edges) writeFileSync(localSiteFile(config.stateDir, edge.name), siteVclForEdge(topology, edge, site))
        return report
      },
      stop: stopAll,
    }
    return stack
  } catch (err) {
    await stopAll()
    throw err
  }
}
