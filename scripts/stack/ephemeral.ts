// A whole stack on free loopback ports with its state in a temporary dir and its log in a file there:
// what the integration tests and the benchmarks run against.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { loadConfig, type OriginName, OWN_HA_SENTINELS, OWN_HA_SERVERS } from '../../platform/config.js'
import { defaultTopology } from '../../topology/topology.js'
import { type Stack, startStack } from './stack.js'

export interface EphemeralStack {
  stack: Stack
  logFile: string
  /** The last lines of the stack's log (services, varnishd, redis). */
  logTail(lines?: number): string
  /** Stops everything and removes the state dir. */
  dispose(): Promise<void>
}

/**
 * Distinct free TCP ports on loopback (bound then released: good enough on one machine), none of them in `taken`
 * (ports already handed out, released but not yet listened on: the kernel may hand a released port out again).
 */
export async function freePorts(count: number, taken: readonly number[] = []): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer()
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve(server))
    })),
  )
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  const clashes = ports.filter((port) => taken.includes(port)).length
  if (clashes === 0) return ports
  const kept = ports.filter((port) => !taken.includes(port))
  return [...kept, ...(await freePorts(clashes, [...taken, ...kept]))]
}

/**
 * `count` consecutive free TCP ports on loopback (TESSERA_REDIS_HA takes its ports as a first one and those after
 * it), none of them in `taken` (ports already handed out, released but not yet listened on).
 */
export async function freePortRun(count: number, taken: readonly number[] = []): Promise<number> {
  const bindable = (port: number) => new Promise<boolean>((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
  for (let tries = 0; tries < 100; tries++) {
    // Below the kernel's ephemeral range (net.ipv4.ip_local_port_range), where freePorts' ports come from.
    const first = 20_000 + Math.floor(Math.random() * 12_000)
    let free = true
    for (let i = 0; i < count && free; i++) free = !taken.includes(first + i) && (await bindable(first + i))
    if (free) return first
  }
  throw new Error(`found no ${count} consecutive free ports on 127.0.0.1`)
}

export async function startEphemeralStack(options: {
  name: string
  edges?: number
  seed?: boolean
  env?: Record<string, string>
  /** The assembled-page tier (TESSERA_PAGE_TIER); default on, as configured by default. */
  pageTier?: boolean
  /** The page tier's late-bound includes (TESSERA_PAGE_TIER_LATE_INCLUDES); default none. */
  lateIncludes?: string[]
  /** Processes per service (as TESSERA_INSTANCES), each on a free port; default 1 each. */
  instances?: Partial<Record<OriginName, number>>
  /** A topology file (TESSERA_TOPOLOGY) instead of the generated single-machine one. */
  topologyFile?: string
  /** Each edge's malloc storage (TESSERA_EDGE_STORAGE_MB); default 64. */
  storageMb?: number
  /** The shield tier (TESSERA_SHIELD): one shield varnishd between the edges and the origins; default off. */
  shield?: boolean
  /**
   * A legacy CMS behind the edge: the simulated one (TESSERA_DEMO_LEGACY=on, on a free port; its knobs, the
   * TESSERA_DEMO_LEGACY_* variables, go in `env`), a routes file (TESSERA_ROUTES), a legacy origin (TESSERA_LEGACY_ORIGIN).
   */
  legacy?: { demo?: boolean; routesFile?: string; origin?: string }
  /** TESSERA_REDIS_HA: a primary, two replicas and three sentinels instead of one redis-server; default off. */
  redisHa?: boolean
}): Promise<EphemeralStack> {
  const edges = options.edges ?? 1
  const stateDir = mkdtempSync(path.join(os.tmpdir(), `tessera-${options.name}-`))
  const logFile = path.join(stateDir, 'stack.log')
  const logTail = (lines = 80) => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n') : '')
  const [redis, layout, nav, sidebar, article, sections, content, purge, shieldPort, shieldAdmin, ...edgeAdminPorts] = await freePorts(10 + edges)
  // Each edge's inner address on its front port + 1, the default the purge service assumes for a node of its live
  // set (innerAddressOf), so that its PUT /edges and POST /topology/reload point each node's page tier right.
  const edgeSpecs: Array<{ port: number; adminPort: number; innerPort: number }> = []
  const handedOut = () => [redis, layout, nav, sidebar, article, sections, content, purge, shieldPort, shieldAdmin, ...edgeAdminPorts, ...edgeSpecs.flatMap((e) => [e.port, e.innerPort])]
  for (const adminPort of edgeAdminPorts) {
    const port = await freePortRun(2, handedOut())
    edgeSpecs.push({ port, adminPort, innerPort: port + 1 })
  }
  const haPorts = options.redisHa ? await freePortRun(OWN_HA_SERVERS + OWN_HA_SENTINELS, handedOut()) : 0
  const config = loadConfig({
    TESSERA_STATE_DIR: stateDir,
    TESSERA_REDIS_PORT: String(redis),
    TESSERA_LAYOUT_PORT: String(layout),
    TESSERA_NAV_PORT: String(nav),
    TESSERA_SIDEBAR_PORT: String(sidebar),
    TESSERA_ARTICLE_PORT: String(article),
    TESSERA_SECTIONS_PORT: String(sections),
    TESSERA_CONTENT_PORT: String(content),
    TESSERA_PURGE_PORT: String(purge),
    TESSERA_EDGE_PORT: String(edgeSpecs[0].port),
    TESSERA_EDGE_ADMIN_PORT: String(edgeSpecs[0].adminPort),
    TESSERA_EDGE_INNER_PORT: String(edgeSpecs[0].innerPort),
    TESSERA_PAGE_TIER: options.pageTier === false ? 'off' : 'on',
    TESSERA_PAGE_TIER_LATE_INCLUDES: (options.lateIncludes ?? []).join(' '),
    TESSERA_SHIELD: options.shield ? 'on' : 'off',
    TESSERA_SHIELD_PORT: String(shieldPort),
    TESSERA_SHIELD_ADMIN_PORT: String(shieldAdmin),
    TESSERA_EDGE_NODES: edgeSpecs.map((e) => `http://127.0.0.1:${e.port}`).join(','),
    TESSERA_EDGE_STORAGE_MB: String(options.storageMb ?? 64),
    TESSERA_LOG_LEVEL: 'warn',
    ...(options.redisHa
      ? { TESSERA_REDIS_HA: 'on', TESSERA_REDIS_PORT: String(haPorts), TESSERA_REDIS_SENTINEL_PORT: String(haPorts + OWN_HA_SERVERS) }
      : {}),
    ...(options.topologyFile ? { TESSERA_TOPOLOGY: options.topologyFile } : {}),
    ...(options.legacy?.demo ? { TESSERA_DEMO_LEGACY: 'on', TESSERA_DEMO_LEGACY_PORT: String((await freePorts(1, handedOut()))[0]) } : {}),
    ...(options.legacy?.routesFile ? { TESSERA_ROUTES: options.legacy.routesFile } : {}),
    ...(options.legacy?.origin ? { TESSERA_LEGACY_ORIGIN: options.legacy.origin } : {}),
  })
  const extraEdges = edgeSpecs.slice(1)
  // Instances beyond the first get free ports of their own (the + 1000 x i rule of npm start could collide here).
  let topology
  if (options.instances && !options.topologyFile) {
    topology = defaultTopology(config, extraEdges)
    for (const [name, count] of Object.entries(options.instances) as Array<[OriginName, number]>) {
      const more = await freePorts(count - 1, [...handedOut(), config.demoLegacyPort, ...Object.values(topology.services).flat().map((s) => s.port)])
      topology.services[name] = [topology.services[name][0], ...more.map((port) => ({ host: config.host, port }))]
    }
  }
  const log = (source: string, line: string) => appendFileSync(logFile, `${source.padEnd(8)} ${line}\n`)
  let stack: Stack
  try {
    stack = await startStack({
      config,
      log,
      seed: options.seed,
      extraEnv: options.env,
      extraEdges,
      topology,
    })
  } catch (err) {
    process.stderr.write(logTail())
    rmSync(stateDir, { recursive: true, force: true })
    throw err
  }
  return {
    stack,
    logFile,
    logTail,
    async dispose() {
      await stack.stop()
      rmSync(stateDir, { recursive: true, force: true })
    },
  }
}
