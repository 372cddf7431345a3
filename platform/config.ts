// The whole system's configuration, typed and validated once. The README's "Configuration" table is this list.
import path from 'node:path'
import { InvalidConfig } from './errors.js'
import { projectRoot } from './paths.js'

export type FragmentName = 'nav' | 'sidebar' | 'article' | 'sections'
export const FRAGMENT_NAMES: readonly FragmentName[] = ['nav', 'sidebar', 'article', 'sections']
/** The services behind the edge: each may run as several instances (TESSERA_INSTANCES, TESSERA_TOPOLOGY). */
export type OriginName = FragmentName | 'layout'
export const ORIGIN_NAMES: readonly OriginName[] = ['layout', 'nav', 'sidebar', 'article', 'sections']
/** Instance i (0-based) of a service started by `npm start` listens on the service's port + INSTANCE_PORT_STEP x i. */
export const INSTANCE_PORT_STEP = 1000

export interface Config {
  host: string
  stateDir: string
  redisUrl: string | undefined // undefined: the launcher runs its own redis-server on redisPort
  redisPort: number
  /** Connect through Redis Sentinel (TESSERA_REDIS_SENTINELS + TESSERA_REDIS_MASTER, or a redis+sentinel:// REDIS_URL). */
  redisSentinel: RedisSentinelTarget | undefined
  /**
   * TESSERA_REDIS_HA: `npm start` runs its own primary and two replicas (on redisPort, + 1, + 2) and three
   * sentinels (on redisSentinelPort, + 1, + 2) instead of one redis-server, and every service goes through them.
   */
  redisHa: boolean
  redisSentinelPort: number
  /**
   * A write is answered only once this many replicas have it (WAIT replicas timeoutMs); replicas 0: no WAIT.
   * Default 1 when connecting through Sentinel, else 0.
   */
  redisWait: RedisWait
  ports: { layout: number; content: number; purge: number } & Record<FragmentName, number>
  edge: {
    port: number
    adminPort: number
    innerPort: number
    pageTier: boolean
    /**
     * TESSERA_PAGE_TIER_LATE_INCLUDES: include URLs a page-tier copy keeps as <esi:include> tags, resolved at the
     * front on each delivery (varnish/tier.vcl); empty: every include is baked into the copy.
     */
    lateIncludes: string[]
    storageMb: number
  }
  edgeNodes: string[]
  /** Admin (-T) address of each edge node, in the order of edgeNodes. */
  edgeAdmins: Array<{ host: string; port: number }>
  edgeAdminSecretFile: string
  /**
   * The shield tier (varnish/shield.vcl). enabled: `npm start` runs one shield varnishd (TESSERA_SHIELD=on) on
   * port/adminPort. nodes: every shield's HTTP base URL, for the purge service (purged before any edge);
   * workDirs as edgeWorkDirs (stats).
   */
  shield: { enabled: boolean; port: number; adminPort: number; nodes: string[]; admins: Array<{ host: string; port: number }>; workDirs: Array<string | undefined> }
  /** varnishd work dir (-n) of each edge node, in the order of edgeNodes; undefined for a node not on this machine. */
  edgeWorkDirs: Array<string | undefined>
  purge: {
    coalesceMs: number
    timeoutMs: number
    warmAfterEvents: boolean
    warmConcurrency: number
    eventsBacklogCap: number
    eventsTrimMs: number
    /** TESSERA_PURGE_CLAIM_IDLE_MS: change events another purge-service instance left pending this long are taken over. */
    claimIdleMs: number
    /** TESSERA_PURGE_LEASE_MS: how long one instance's hold on a node's durable queue lasts unless renewed. */
    queueLeaseMs: number
  }
  editorToken: string | undefined
  opsToken: string | undefined
  purgeSecret: string | undefined
  debugToken: string | undefined
  /** Signs the console's draft preview tokens (the purge service issues them, the layout service checks them). */
  previewSecret: string | undefined
  /** TESSERA_TTL_FILE: policy overrides the purge service applies at start (JSON or YAML). */
  ttlFile: string | undefined
  /** TESSERA_INSTANCES: how many OS processes `npm start` runs of each service (default 1 each). */
  instances: Record<OriginName, number>
  /** TESSERA_TOPOLOGY: the topology file (YAML) naming every instance and edge node; undefined: one machine. */
  topologyFile: string | undefined
  /** TESSERA_ROUTES: the routes file (YAML/JSON) of a site with a legacy CMS or apps behind the edge (topology/routes.ts). */
  routesFile: string | undefined
  /** TESSERA_LEGACY_ORIGIN: http://host:port of the legacy CMS, the default route for what no route claims. */
  legacyOrigin: string | undefined
  /** TESSERA_DEMO_LEGACY: start the simulated legacy CMS (legacy-demo/) on demoLegacyPort and route to it. */
  demoLegacy: boolean
  demoLegacyPort: number
  /** TESSERA_RENDER_DELAY_MS: a simulation knob for benchmarks (a slow origin); 0 in production. */
  renderDelayMs: number
  logLevel: string
}

type Env = Record<string, string | undefined>

export interface RedisSentinelTarget {
  sentinels: Array<{ host: string; port: number }>
  /** The name the sentinels monitor the primary under. */
  master: string
}

export interface RedisWait {
  replicas: number
  timeoutMs: number
}

/**
 * A late-bound include's URL (TESSERA_PAGE_TIER_LATE_INCLUDES): a path under /fragments/ of characters that
 * need no escaping in an <esi:include src> nor in a VCL string (the site VCL compares and matches them).
 */
export const LATE_INCLUDE_URL = /^\/fragments\/[A-Za-z0-9._~\/-]{1,200}$/
/** The article body of a page: required on it (a 503 without it, varnish/fallback.vcl), so never late-bound. */
export const ARTICLE_BODY_INCLUDE = /^\/fragments\/article\/[a-z0-9-]+$/

/** TESSERA_PAGE_TIER_LATE_INCLUDES: the URLs (space or comma separated), each checked; problems are pushed. */
export function parseLateIncludes(raw: string | undefined, problems: string[]): string[] {
  const urls = [...new Set((raw ?? '').split(/[\s,]+/).filter(Boolean))]
  for (const url of urls) {
    if (!LATE_INCLUDE_URL.test(url)) {
      problems.push(`TESSERA_PAGE_TIER_LATE_INCLUDES: ${JSON.stringify(url)} must be an include URL under /fragments/ (a path of [A-Za-z0-9._~/-], no query), e.g. /fragments/nav`)
    } else if (ARTICLE_BODY_INCLUDE.test(url)) {
      problems.push(`TESSERA_PAGE_TIER_LATE_INCLUDES: ${url} is an article body, which its page requires (a 503 without it): it stays in the page copy`)
    }
  }
  if (urls.length > 12) problems.push(`TESSERA_PAGE_TIER_LATE_INCLUDES names ${urls.length} includes; a page names at most 12`)
  return urls
}

const SENTINEL_URL_FORM = 'redis+sentinel://host:port[,host:port...]/<master name>'
const MASTER_NAME = /^[A-Za-z0-9._-]{1,64}$/

/** host:port, IPv6 in brackets; undefined when it is not one. */
function hostPort(entry: string): { host: string; port: number } | undefined {
  const m = entry.match(/^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/)
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return undefined
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) }
}

/** The sentinels of a comma-separated host:port list; problems are pushed with `name` in front. */
function parseSentinelList(name: string, raw: string, problems: string[]): Array<{ host: string; port: number }> {
  const entries = raw.split(',').map((s) => s.trim()).filter(Boolean)
  if (entries.length === 0) problems.push(`${name} names no sentinel; give host:port,host:port,...`)
  const sentinels: Array<{ host: string; port: number }> = []
  for (const entry of entries) {
    const at = hostPort(entry)
    if (at) sentinels.push(at)
    else problems.push(`${name}: ${JSON.stringify(entry)} must be host:port`)
  }
  return sentinels
}

/**
 * `redis+sentinel://host:port,host:port/<master>`: the sentinels to ask and the master name they monitor.
 * Throws InvalidConfig naming what is wrong.
 */
export function parseRedisSentinelUrl(url: string, name = 'REDIS_URL'): RedisSentinelTarget {
  const problems: string[] = []
  const m = url.match(/^redis\+sentinel:\/\/([^/?#]*)\/([^/?#]*)$/)
  if (!m) throw new InvalidConfig([`${name}=${JSON.stringify(url)} must be ${SENTINEL_URL_FORM}`])
  const sentinels = parseSentinelList(name, m[1], problems)
  if (!MASTER_NAME.test(m[2])) problems.push(`${name}: the master name ${JSON.stringify(m[2])} must be 1-64 characters of [A-Za-z0-9._-] (${SENTINEL_URL_FORM})`)
  if (problems.length > 0) throw new InvalidConfig(problems)
  return { sentinels, master: m[2] }
}

/** The redis+sentinel:// URL of a Sentinel target (what the launcher hands its services as REDIS_URL). */
export function redisSentinelUrl(target: RedisSentinelTarget): string {
  return `redis+sentinel://${target.sentinels.map((s) => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`)).join(',')}/${target.master}`
}

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = []

  const port = (name: string, fallback: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      problems.push(`${name}=${JSON.stringify(raw)} is not a TCP port (1-65535)`)
      return fallback
    }
    return n
  }
  const secret = (name: string): string | undefined => {
    const raw = env[name]
    if (raw === undefined || raw === '') return undefined
    if (!/^[A-Za-z0-9._~-]{16,256}$/.test(raw)) {
      problems.push(`${name} must be 16-256 characters of [A-Za-z0-9._~-] (it travels in HTTP headers and VCL)`)
      return undefined
    }
    return raw
  }
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`)
      return fallback
    }
    return n
  }

  const host = env.TESSERA_HOST || '127.0.0.1'
  const stateDir = path.resolve(projectRoot, env.TESSERA_STATE_DIR || '.tessera')
  let redisUrl = env.REDIS_URL || undefined
  let redisSentinel: RedisSentinelTarget | undefined
  if (redisUrl?.startsWith('redis+sentinel:')) {
    try {
      redisSentinel = parseRedisSentinelUrl(redisUrl)
    } catch (err) {
      problems.push(...(err as InvalidConfig).problems)
    }
    redisUrl = undefined
  } else if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    problems.push(`REDIS_URL must start with redis://, rediss:// or redis+sentinel:// (${SENTINEL_URL_FORM})`)
  }
  const sentinelList = env.TESSERA_REDIS_SENTINELS || undefined
  const masterName = env.TESSERA_REDIS_MASTER || undefined
  if (sentinelList !== undefined || masterName !== undefined) {
    if (env.REDIS_URL) problems.push('REDIS_URL and TESSERA_REDIS_SENTINELS/TESSERA_REDIS_MASTER both say where Redis is; set only one of them')
    else if (sentinelList === undefined) problems.push('TESSERA_REDIS_MASTER is set without TESSERA_REDIS_SENTINELS; give the sentinels as host:port,host:port,...')
    else if (masterName === undefined) problems.push('TESSERA_REDIS_SENTINELS is set without TESSERA_REDIS_MASTER, the name the sentinels monitor the primary under')
    else {
      const sentinels = parseSentinelList('TESSERA_REDIS_SENTINELS', sentinelList, problems)
      if (!MASTER_NAME.test(masterName)) problems.push(`TESSERA_REDIS_MASTER=${JSON.stringify(masterName)} must be 1-64 characters of [A-Za-z0-9._-]`)
      redisSentinel = { sentinels, master: masterName }
    }
  }

  const edgePort = port('TESSERA_EDGE_PORT', 8080)
  const edgeNodes = (env.TESSERA_EDGE_NODES || `http://${host}:${edgePort}`)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const node of edgeNodes) {
    try {
      const u = new URL(node)
      if (u.protocol !== 'http:') problems.push(`TESSERA_EDGE_NODES: ${node} must be an http:// base URL`)
    } catch {
      problems.push(`TESSERA_EDGE_NODES: ${node} is not a URL`)
    }
  }
  const adminPort = port('TESSERA_EDGE_ADMIN_PORT', 6182)
  /** A comma-separated list of host:port admin addresses. */
  const admins = (name: string, raw: string) =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((entry) => {
        const m = entry.match(/^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/)
        if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
          problems.push(`${name}: ${entry} must be host:port`)
          return { host: '', port: 0 }
        }
        return { host: m[1], port: Number(m[2]) }
      })
  const edgeAdmins = admins('TESSERA_EDGE_ADMINS', env.TESSERA_EDGE_ADMINS || (env.TESSERA_EDGE_NODES ? '' : `${host}:${adminPort}`))
  if (edgeAdmins.length > 0 && edgeAdmins.length !== edgeNodes.length) {
    problems.push(`TESSERA_EDGE_ADMINS lists ${edgeAdmins.length} admin addresses for ${edgeNodes.length} TESSERA_EDGE_NODES; give one per node, in the same order`)
  }
  // Local nodes only: varnishstat and varnishncsa read a node's shared memory through its work dir.
  const edgeWorkDirs = env.TESSERA_EDGE_WORKDIRS
    ? env.TESSERA_EDGE_WORKDIRS.split(',').map((s) => (s.trim() ? path.resolve(projectRoot, s.trim()) : undefined))
    : edgeNodes.map((_, i) => (env.TESSERA_EDGE_NODES ? undefined : edgeWorkDir(stateDir, i)))
  if (edgeWorkDirs.length !== edgeNodes.length) {
    problems.push(`TESSERA_EDGE_WORKDIRS lists ${edgeWorkDirs.length} work dirs for ${edgeNodes.length} TESSERA_EDGE_NODES; give one per node, in the same order (empty for a node on another machine)`)
  }
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true
    if (['0', 'false', 'no', 'off'].includes(raw)) return false
    problems.push(`${name}=${JSON.stringify(raw)} must be true or false`)
    return fallback
  }
  const instances = Object.fromEntries(ORIGIN_NAMES.map((n) => [n, 1])) as Record<OriginName, number>
  for (const entry of (env.TESSERA_INSTANCES ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = entry.match(/^([a-z]+)=(\d+)$/)
    if (!m || !(ORIGIN_NAMES as readonly string[]).includes(m[1]) || Number(m[2]) < 1 || Number(m[2]) > 9) {
      problems.push(`TESSERA_INSTANCES: ${JSON.stringify(entry)} must be <service>=<1-9> with service one of ${ORIGIN_NAMES.join(', ')} (e.g. nav=3,article=2)`)
      continue
    }
    instances[m[1] as OriginName] = Number(m[2])
  }
  const shieldEnabled = bool('TESSERA_SHIELD', false)
  const shieldPort = port('TESSERA_SHIELD_PORT', 8090)
  const shieldAdminPort = port('TESSERA_SHIELD_ADMIN_PORT', 6192)
  const shieldNodes = (env.TESSERA_SHIELD_NODES ?? (shieldEnabled ? `http://${host}:${shieldPort}` : ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const node of shieldNodes) {
    try {
      if (new URL(node).protocol !== 'http:') problems.push(`TESSERA_SHIELD_NODES: ${node} must be an http:// base URL`)
    } catch {
      problems.push(`TESSERA_SHIELD_NODES: ${node} is not a URL`)
    }
  }
  const shieldAdmins = admins('TESSERA_SHIELD_ADMINS', env.TESSERA_SHIELD_ADMINS ?? (shieldEnabled && !env.TESSERA_SHIELD_NODES ? `${host}:${shieldAdminPort}` : ''))
  if (shieldAdmins.length > 0 && shieldAdmins.length !== shieldNodes.length) {
    problems.push(`TESSERA_SHIELD_ADMINS lists ${shieldAdmins.length} admin addresses for ${shieldNodes.length} TESSERA_SHIELD_NODES; give one per shield, in the same order`)
  }
  const shieldWorkDirs = env.TESSERA_SHIELD_WORKDIRS !== undefined
    ? env.TESSERA_SHIELD_WORKDIRS.split(',').map((s) => (s.trim() ? path.resolve(projectRoot, s.trim()) : undefined))
    : shieldNodes.map((_, i) => (env.TESSERA_SHIELD_NODES ? undefined : shieldWorkDir(stateDir, i)))
  if (shieldWorkDirs.length !== shieldNodes.length) {
    problems.push(`TESSERA_SHIELD_WORKDIRS lists ${shieldWorkDirs.length} work dirs for ${shieldNodes.length} TESSERA_SHIELD_NODES; give one per shield (empty for one on another machine)`)
  }
  const redisHa = bool('TESSERA_REDIS_HA', false)
  if (redisHa && (env.REDIS_URL || sentinelList !== undefined)) {
    problems.push('TESSERA_REDIS_HA=on starts our own primary, replicas and sentinels; unset REDIS_URL and TESSERA_REDIS_SENTINELS, or turn TESSERA_REDIS_HA off to use yours')
  }
  const redisWait: RedisWait = {
    replicas: int('TESSERA_REDIS_WAIT_REPLICAS', redisSentinel || redisHa ? 1 : 0, 0, 16),
    timeoutMs: int('TESSERA_REDIS_WAIT_TIMEOUT_MS', 1000, 10, 60_000),
  }
  const pageTier = bool('TESSERA_PAGE_TIER', true)
  const lateIncludes = parseLateIncludes(env.TESSERA_PAGE_TIER_LATE_INCLUDES, problems)
  if (lateIncludes.length > 0 && !pageTier) {
    problems.push('TESSERA_PAGE_TIER_LATE_INCLUDES is set with TESSERA_PAGE_TIER=off: with the tier off every include is resolved per request already; unset it or turn the tier on')
  }
  const logLevel = env.TESSERA_LOG_LEVEL || 'info'
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`TESSERA_LOG_LEVEL=${logLevel} must be one of fatal, error, warn, info, debug, trace, silent`)
  }

  const config: Config = {
    host,
    stateDir,
    redisUrl,
    redisPort: port('TESSERA_REDIS_PORT', 6390),
    redisSentinel,
    redisHa,
    redisSentinelPort: port('TESSERA_REDIS_SENTINEL_PORT', 26390),
    redisWait,
    ports: {
      layout: port('TESSERA_LAYOUT_PORT', 3000),
      nav: port('TESSERA_NAV_PORT', 3001),
      sidebar: port('TESSERA_SIDEBAR_PORT', 3002),
      article: port('TESSERA_ARTICLE_PORT', 3003),
      sections: port('TESSERA_SECTIONS_PORT', 3004),
      purge: port('TESSERA_PURGE_PORT', 3100),
      content: port('TESSERA_CONTENT_PORT', 3200),
    },
    edge: {
      port: edgePort,
      adminPort,
      innerPort: port('TESSERA_EDGE_INNER_PORT', 8081),
      pageTier,
      lateIncludes,
      storageMb: int('TESSERA_EDGE_STORAGE_MB', 256, 16, 65536),
    },
    edgeNodes,
    edgeAdmins,
    edgeAdminSecretFile: path.resolve(projectRoot, env.TESSERA_EDGE_ADMIN_SECRET_FILE || path.join(stateDir, 'varnish-secret')),
    shield: { enabled: shieldEnabled, port: shieldPort, adminPort: shieldAdminPort, nodes: shieldNodes, admins: shieldAdmins, workDirs: shieldWorkDirs },
    edgeWorkDirs,
    purge: {
      coalesceMs: int('TESSERA_PURGE_COALESCE_MS', 50, 0, 10_000),
      timeoutMs: int('TESSERA_PURGE_TIMEOUT_MS', 2000, 100, 60_000),
      warmAfterEvents: bool('TESSERA_WARM_AFTER_EVENTS', false),
      warmConcurrency: int('TESSERA_WARM_CONCURRENCY', 4, 1, 64),
      eventsBacklogCap: int('TESSERA_EVENTS_BACKLOG_CAP', 100_000, 1, 100_000_000),
      eventsTrimMs: int('TESSERA_EVENTS_TRIM_MS', 5_000, 50, 3_600_000),
      claimIdleMs: int('TESSERA_PURGE_CLAIM_IDLE_MS', 30_000, 100, 3_600_000),
      queueLeaseMs: int('TESSERA_PURGE_LEASE_MS', 5_000, 200, 600_000),
    },
    editorToken: secret('TESSERA_EDITOR_TOKEN'),
    opsToken: secret('TESSERA_OPS_TOKEN'),
    purgeSecret: secret('TESSERA_PURGE_SECRET'),
    debugToken: secret('TESSERA_DEBUG_TOKEN'),
    previewSecret: secret('TESSERA_PREVIEW_SECRET'),
    ttlFile: env.TESSERA_TTL_FILE ? path.resolve(projectRoot, env.TESSERA_TTL_FILE) : undefined,
    instances,
    topologyFile: env.TESSERA_TOPOLOGY ? path.resolve(projectRoot, env.TESSERA_TOPOLOGY) : undefined,
    routesFile: env.TESSERA_ROUTES ? path.resolve(projectRoot, env.TESSERA_ROUTES) : undefined,
    legacyOrigin: env.TESSERA_LEGACY_ORIGIN || undefined,
    demoLegacy: bool('TESSERA_DEMO_LEGACY', false),
    demoLegacyPort: port('TESSERA_DEMO_LEGACY_PORT', 3300),
    renderDelayMs: int('TESSERA_RENDER_DELAY_MS', 0, 0, 10_000),
    logLevel,
  }
  if (redisHa && (config.redisPort > 65533 || config.redisSentinelPort > 65533)) {
    problems.push('TESSERA_REDIS_HA=on uses TESSERA_REDIS_PORT and TESSERA_REDIS_SENTINEL_PORT and the two ports after each; choose ports below 65534')
  }
  if (config.purge.queueLeaseMs <= config.purge.timeoutMs) {
    problems.push(`TESSERA_PURGE_LEASE_MS=${config.purge.queueLeaseMs} must be above TESSERA_PURGE_TIMEOUT_MS=${config.purge.timeoutMs}: a lease must outlast the send it covers`)
  }
  if (config.legacyOrigin !== undefined && !/^http:\/\/[^/?#@\s]+\/?$/.test(config.legacyOrigin)) {
    problems.push(`TESSERA_LEGACY_ORIGIN=${JSON.stringify(config.legacyOrigin)} must be http://host:port (no path)`)
  }
  if (problems.length > 0) throw new InvalidConfig(problems)
  return Object.freeze(config)
}

/** Where the launcher keeps the varnishd work dir (-n) of its edge node number `index` (0-based). */
export function edgeWorkDir(stateDir: string, index: number): string {
  return path.join(stateDir, 'varnish', `edge${index + 1}`)
}

/** Where the launcher keeps the varnishd work dir (-n) of its shield number `index` (0-based). */
export function shieldWorkDir(stateDir: string, index: number): string {
  return path.join(stateDir, 'varnish', `shield${index + 1}`)
}

/**
 * The Redis URL services connect to: REDIS_URL, the sentinels as a redis+sentinel:// URL, or the launcher's own
 * redis-server (with TESSERA_REDIS_HA the launcher hands its services the sentinels of its own set instead).
 */
export function redisUrlOf(config: Config): string {
  if (config.redisSentinel) return redisSentinelUrl(config.redisSentinel)
  if (config.redisHa) return redisSentinelUrl(ownSentinelTarget(config))
  return config.redisUrl ?? `redis://${config.host}:${config.redisPort}`
}

/** The master name our own Sentinel set (TESSERA_REDIS_HA) monitors the primary under. */
export const OWN_MASTER_NAME = 'tessera'
/** How many redis-servers (one primary, the rest replicas) and sentinels TESSERA_REDIS_HA runs. */
export const OWN_HA_SERVERS = 3
export const OWN_HA_SENTINELS = 3

/** Where the launcher's own Sentinel set (TESSERA_REDIS_HA) is: its sentinels and master name. */
export function ownSentinelTarget(config: Config): RedisSentinelTarget {
  return { sentinels: Array.from({ length: OWN_HA_SENTINELS }, (_, i) => ({ host: config.host, port: config.redisSentinelPort + i })), master: OWN_MASTER_NAME }
}

/** Port from `--port N` on the command line, else the configured one. */
export function portFromArgs(argv: string[], configured: number): number {
  const i = argv.indexOf('--port')
  if (i === -1) return configured
  const n = Number(argv[i + 1])
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidConfig([`--port ${argv[i + 1]} is not a TCP port`])
  return n
}
