// The edge as the one front door of a site that still has a legacy CMS behind it (issue 16).
//
// TESSERA_ROUTES names a YAML (or JSON) file: an ordered list of URL prefixes or regexes, each sent to
// `tessera` (our layouts and fragments), `legacy` (the origin TESSERA_LEGACY_ORIGIN names) or a named backend
// (`host:port`, a small app on its own port), each with its own probe, timeouts and cache policy.
// TESSERA_LEGACY_ORIGIN is the default route for whatever no entry claims. Every value is checked here, before
// it reaches VCL (routes-vcl.ts renders it): nothing in the file can break out of a VCL string, and regexes are
// compiled. Without either variable the edge routes exactly as before.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { TesseraError } from '../platform/errors.js'
import { projectRoot } from '../platform/paths.js'

export class InvalidRoutes extends TesseraError {
  readonly code = 'TESSERA_INVALID_ROUTES'
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`)
  }
}

export interface Probe {
  url: string
  interval: string
  timeout: string
  window: number
  threshold: number
}

/** A backend the edge talks to besides Tessera's own services: the legacy origin, or a route's own. */
export interface RouteBackend {
  /** VCL name: tessera_legacy, or tessera_route_<route name>. */
  vclName: string
  host: string
  port: number
  probe: Probe | undefined
  connectTimeout: string
  firstByteTimeout: string
  betweenBytesTimeout: string
}

/** How a legacy or app route's answers are cached where the origin says nothing (seconds). */
export interface RoutePolicy {
  cache: boolean
  ttl: number
  staleWhileRevalidate: number
  staleIfError: number
  /** Cookie names (a trailing * matches a prefix) whose presence sends a request to the origin uncached. */
  passCookies: string[]
  /** The /fragments/ URLs the route's ESI pages may include: measured for the page tier (tier.vcl). */
  includes: string[]
}

export interface Route {
  name: string
  /** The VCL regex that claims a URL (a prefix is turned into one). */
  regex: string
  /** What the file said, for messages and the README. */
  match: { prefix: string } | { regex: string }
  to: 'tessera' | 'legacy' | 'app'
  /** For legacy and app routes. */
  backend?: RouteBackend
  policy?: RoutePolicy
}

export interface Routes {
  /** In the file's order: the first that claims a URL answers it. */
  routes: Route[]
  /** What no entry claims: the legacy origin (TESSERA_LEGACY_ORIGIN), or Tessera as today. */
  fallback: Route | undefined
  /** Every backend the routes use, each once. */
  backends: RouteBackend[]
}

export const LEGACY_DEFAULTS = {
  connectTimeout: '1s',
  // The legacy needs 10 s for some pages: its own first-byte timeout, not a fragment's 2 s.
  firstByteTimeout: '15s',
  betweenBytesTimeout: '5s',
  probe: { url: '/', interval: '5s', timeout: '4s', window: 5, threshold: 3 } satisfies Probe,
  policy: { cache: true, ttl: 120, staleWhileRevalidate: 600, staleIfError: 86_400, passCookies: [], includes: [] } satisfies RoutePolicy,
}

const NAME = /^[a-z][a-z0-9-]{0,39}$/
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])$/
const PREFIX = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,511}$/
const DURATION = /^\d{1,6}(\.\d{1,3})?(ms|s|m|h)$/
const PROBE_URL = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,511}$/
const COOKIE = /^[A-Za-z0-9_.-]{1,128}\*?$/
const INCLUDE = /^\/fragments\/[A-Za-z0-9._~/-]{1,256}$/
/** The page tier looks up at most 12 includes per page (tier.vcl). */
export const MAX_INCLUDES = 12
const SECONDS_MAX = { ttl: 31_536_000, staleWhileRevalidate: 31_536_000, staleIfError: 31_536_000 }

/** `http://host:port` (TESSERA_LEGACY_ORIGIN) -> host and port; undefined with a problem noted otherwise. */
export function parseOrigin(value: string, problems: string[], field = 'TESSERA_LEGACY_ORIGIN'): { host: string; port: number } | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    problems.push(`${field}=${JSON.stringify(value)} is not a URL (http://host:port)`)
    return undefined
  }
  if (url.protocol !== 'http:' || url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    problems.push(`${field}=${JSON.stringify(value)} must be http://host:port with no path, query or credentials (the edge speaks plain HTTP to its origins)`)
    return undefined
  }
  const host = url.hostname
  if (!HOST.test(host)) {
    problems.push(`${field}: ${JSON.stringify(host)} is not a plain host name or address`)
    return undefined
  }
  return { host: host.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : 80 }
}

/** Escapes a URL prefix for a VCL regex (PCRE) anchored at the start. */
export function prefixRegex(prefix: string): string {
  return '^' + prefix.replace(/[.*+?()[\]{}|^$\\]/g, '\\$&')
}

/**
 * A regex from the file, if it can go into a VCL string and compiles: no double quote, backslash-newline or
 * control character; compiled here (JavaScript and PCRE agree on the common syntax; varnishd compiles it again
 * when the VCL loads, and a reload that fails keeps the running VCL).
 */
function checkRegex(value: string, where: string, problems: string[]): string | undefined {
  if (value.length === 0 || value.length > 1024) {
    problems.push(`${where}: a regex of 1 to 1024 characters`)
    return undefined
  }
  // eslint-disable-next-line no-control-regex
  if (/["\u0000-\u001f\u007f]/.test(value) || /[^\u0020-\u007e]/.test(value)) {
    problems.push(`${where}: ${JSON.stringify(value)} may not contain a double quote, a control character or non-ASCII (it goes into a VCL string)`)
    return undefined
  }
  if (!value.startsWith('^')) {
    problems.push(`${where}: ${JSON.stringify(value)} must be anchored at the start of the URL with ^`)
    return undefined
  }
  if (/\(\?(?![:=!]|<[=!])/.test(value)) {
    problems.push(`${where}: ${JSON.stringify(value)} uses inline flags or named groups; use a plain regex`)
    return undefined
  }
  try {
    new RegExp(value)
  } catch (err) {
    problems.push(`${where}: ${JSON.stringify(value)} is not a valid regex (${(err as Error).message})`)
    return undefined
  }
  return value
}

type Raw = Record<string, unknown>

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function checkKeys(raw: Raw, allowed: readonly string[], where: string, problems: string[]): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) problems.push(`${where}.${key}: unknown field; use ${allowed.join(', ')}`)
  }
}

function duration(raw: unknown, fallback: string, where: string, problems: string[]): string {
  if (raw === undefined) return fallback
  const value = typeof raw === 'number' ? `${raw}s` : raw
  if (typeof value !== 'string' || !DURATION.test(value)) {
    problems.push(`${where}: ${JSON.stringify(raw)} is not a duration (seconds, or a number with ms, s, m or h: "15s", "500ms")`)
    return fallback
  }
  return value
}

function seconds(raw: unknown, fallback: number, max: number, where: string, problems: string[]): number {
  if (raw === undefined) return fallback
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 0 || raw > max) {
    problems.push(`${where}: ${JSON.stringify(raw)} must be an integer number of seconds from 0 to ${max}`)
    return fallback
  }
  return raw
}

function probe(raw: unknown, fallback: Probe | undefined, where: string, problems: string[]): Probe | undefined {
  if (raw === undefined) return fallback
  if (raw === false) return undefined
  if (!isRecord(raw)) {
    problems.push(`${where}: a probe is {url, interval, timeout, window, threshold} or false`)
    return fallback
  }
  checkKeys(raw, ['url', 'interval', 'timeout', 'window', 'threshold'], where, problems)
  const base = fallback ?? LEGACY_DEFAULTS.probe
  let url = base.url
  if (raw.url !== undefined) {
    if (typeof raw.url !== 'string' || !PROBE_URL.test(raw.url)) problems.push(`${where}.url: ${JSON.stringify(raw.url)} must be a path starting with /`)
    else url = raw.url
  }
  const int = (v: unknown, fb: number, name: string) => {
    if (v === undefined) return fb
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 64) {
      problems.push(`${where}.${name}: ${JSON.stringify(v)} must be an integer from 1 to 64`)
      return fb
    }
    return v
  }
  const window = int(raw.window, base.window, 'window')
  const threshold = int(raw.threshold, base.threshold, 'threshold')
  if (threshold > window) problems.push(`${where}: threshold ${threshold} is larger than window ${window}`)
  return {
    url,
    interval: duration(raw.interval, base.interval, `${where}.interval`, problems),
    timeout: duration(raw.timeout, base.timeout, `${where}.timeout`, problems),
    window,
    threshold,
  }
}

function stringList(raw: unknown, pattern: RegExp, what: string, where: string, problems: string[], max = 64): string[] {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) {
    problems.push(`${where}: must be a list of ${what}`)
    return []
  }
  if (raw.length > max) problems.push(`${where}: at most ${max} entries`)
  return raw.filter((item, i) => {
    if (typeof item === 'string' && pattern.test(item)) return true
    problems.push(`${where}[${i}]: ${JSON.stringify(item)} is not ${what}`)
    return false
  }) as string[]
}

const POLICY_FIELDS = ['cache', 'ttl', 'staleWhileRevalidate', 'staleIfError', 'passCookies', 'includes'] as const
const BACKEND_FIELDS = ['probe', 'connectTimeout', 'firstByteTimeout', 'betweenBytesTimeout'] as const

function policy(raw: Raw, base: RoutePolicy, where: string, problems: string[]): RoutePolicy {
  let cache = base.cache
  if (raw.cache !== undefined) {
    if (typeof raw.cache !== 'boolean') problems.push(`${where}.cache: must be true or false`)
    else cache = raw.cache
  }
  const includes = raw.includes === undefined ? base.includes : stringList(raw.includes, INCLUDE, 'a /fragments/ URL', `${where}.includes`, problems, MAX_INCLUDES)
  return {
    cache,
    ttl: seconds(raw.ttl, base.ttl, SECONDS_MAX.ttl, `${where}.ttl`, problems),
    staleWhileRevalidate: seconds(raw.staleWhileRevalidate, base.staleWhileRevalidate, SECONDS_MAX.staleWhileRevalidate, `${where}.staleWhileRevalidate`, problems),
    staleIfError: seconds(raw.staleIfError, base.staleIfError, SECONDS_MAX.staleIfError, `${where}.staleIfError`, problems),
    passCookies: raw.passCookies === undefined ? base.passCookies : stringList(raw.passCookies, COOKIE, 'a cookie name (letters, digits, _ . -, a trailing * for a prefix)', `${where}.passCookies`, problems),
    includes,
  }
}

function backendOf(raw: Raw, base: Omit<RouteBackend, 'vclName'>, vclName: string, where: string, problems: string[]): RouteBackend {
  return {
    vclName,
    host: base.host,
    port: base.port,
    probe: probe(raw.probe, base.probe, `${where}.probe`, problems),
    connectTimeout: duration(raw.connectTimeout, base.connectTimeout, `${where}.connectTimeout`, problems),
    firstByteTimeout: duration(raw.firstByteTimeout, base.firstByteTimeout, `${where}.firstByteTimeout`, problems),
    betweenBytesTimeout: duration(raw.betweenBytesTimeout, base.betweenBytesTimeout, `${where}.betweenBytesTimeout`, problems),
  }
}

/**
 * The routes from the file's parsed content and the legacy origin. Throws InvalidRoutes listing every problem.
 * `file` is the parsed YAML: `{legacy?: {...}, routes: [...]}` or just the list.
 */
export function parseRoutes(file: unknown, legacyOrigin: string | undefined, source = 'TESSERA_ROUTES'): Routes {
  const problems: string[] = []
  const origin = legacyOrigin === undefined ? undefined : parseOrigin(legacyOrigin, problems)
  let legacyRaw: Raw = {}
  let list: unknown[] = []
  if (file === undefined || file === null) {
    list = []
  } else if (Array.isArray(file)) {
    list = file
  } else if (isRecord(file)) {
    checkKeys(file, ['legacy', 'routes'], '(top)', problems)
    if (file.legacy !== undefined) {
      if (!isRecord(file.legacy)) problems.push('legacy: must be a map of the legacy origin\'s settings')
      else legacyRaw = file.legacy
    }
    if (file.routes !== undefined && !Array.isArray(file.routes)) problems.push('routes: must be a list')
    else list = (file.routes as unknown[] | undefined) ?? []
  } else {
    problems.push('the file must be a list of routes, or a map with "routes" (and optionally "legacy")')
  }
  checkKeys(legacyRaw, [...POLICY_FIELDS.filter((f) => f !== 'cache'), ...BACKEND_FIELDS], 'legacy', problems)

  const legacyBackend: RouteBackend | undefined = origin
    ? backendOf(legacyRaw, { host: origin.host, port: origin.port, probe: LEGACY_DEFAULTS.probe, connectTimeout: LEGACY_DEFAULTS.connectTimeout, firstByteTimeout: LEGACY_DEFAULTS.firstByteTimeout, betweenBytesTimeout: LEGACY_DEFAULTS.betweenBytesTimeout }, 'tessera_legacy', 'legacy', problems)
    : undefined
  const legacyPolicy = policy(legacyRaw, LEGACY_DEFAULTS.policy, 'legacy', problems)

  const routes: Route[] = []
  const names = new Set<string>()
  list.forEach((entry, i) => {
    const where = `routes[${i}]`
    if (!isRecord(entry)) {
      problems.push(`${where}: each route is a map with prefix or regex, and to`)
      return
    }
    checkKeys(entry, ['name', 'prefix', 'regex', 'to', ...POLICY_FIELDS, ...BACKEND_FIELDS], where, problems)
    let match: Route['match'] | undefined
    let regex: string | undefined
    if ((entry.prefix === undefined) === (entry.regex === undefined)) {
      problems.push(`${where}: give exactly one of prefix or regex`)
    } else if (entry.prefix !== undefined) {
      if (typeof entry.prefix !== 'string' || !PREFIX.test(entry.prefix)) problems.push(`${where}.prefix: ${JSON.stringify(entry.prefix)} must be a path starting with / (letters, digits and URL punctuation, no quotes or spaces)`)
      else {
        match = { prefix: entry.prefix }
        regex = prefixRegex(entry.prefix)
      }
    } else if (typeof entry.regex !== 'string') {
      problems.push(`${where}.regex: must be a string`)
    } else {
      regex = checkRegex(entry.regex, `${where}.regex`, problems)
      if (regex) match = { regex }
    }
    let name = `route-${i + 1}`
    if (entry.name !== undefined) {
      if (typeof entry.name !== 'string' || !NAME.test(entry.name)) problems.push(`${where}.name: ${JSON.stringify(entry.name)} must be lowercase letters, digits and -, starting with a letter (at most 40)`)
      else name = entry.name
    }
    if (names.has(name)) problems.push(`${where}.name: ${name} is used twice`)
    names.add(name)

    const to = entry.to
    if (to === 'tessera') {
      const extra = [...POLICY_FIELDS, ...BACKEND_FIELDS].filter((f) => entry[f] !== undefined)
      if (extra.length) problems.push(`${where}: ${extra.join(', ')} do not apply to a tessera route (its services state their own policies)`)
      if (match && regex) routes.push({ name, match, regex, to: 'tessera' })
      return
    }
    let backend: RouteBackend | undefined
    let kind: 'legacy' | 'app'
    if (to === 'legacy') {
      kind = 'legacy'
      if (!legacyBackend) {
        problems.push(`${where}: to: legacy needs TESSERA_LEGACY_ORIGIN (http://host:port of the legacy CMS)`)
        return
      }
      const ownBackend = BACKEND_FIELDS.some((f) => entry[f] !== undefined)
      backend = ownBackend ? backendOf(entry, legacyBackend, `tessera_route_${name.replace(/-/g, '_')}`, where, problems) : legacyBackend
    } else if (typeof to === 'string' && /^[^:]+:\d{1,5}$/.test(to) || typeof to === 'string' && /^\[[^\]]+\]:\d{1,5}$/.test(to)) {
      kind = 'app'
      const address = parseOrigin(`http://${to}`, problems, `${where}.to`)
      if (!address) return
      if (address.port < 1 || address.port > 65535) problems.push(`${where}.to: port ${address.port} is not a TCP port`)
      backend = backendOf(entry, { ...address, probe: LEGACY_DEFAULTS.probe, connectTimeout: LEGACY_DEFAULTS.connectTimeout, firstByteTimeout: LEGACY_DEFAULTS.firstByteTimeout, betweenBytesTimeout: LEGACY_DEFAULTS.betweenBytesTimeout }, `tessera_route_${name.replace(/-/g, '_')}`, where, problems)
    } else {
      problems.push(`${where}.to: ${JSON.stringify(to)} must be tessera, legacy, or host:port of an app`)
      return
    }
    const routePolicy = policy(entry, kind === 'legacy' ? legacyPolicy : LEGACY_DEFAULTS.policy, where, problems)
    if (match && regex) routes.push({ name, match, regex, to: kind, backend, policy: routePolicy })
  })

  const fallback: Route | undefined = legacyBackend
    ? { name: 'legacy', match: { prefix: '/' }, regex: '^/', to: 'legacy', backend: legacyBackend, policy: legacyPolicy }
    : undefined
  if (names.has('legacy') && fallback) problems.push('a route may not be named "legacy": it is the default route\'s name')
  if (problems.length > 0) throw new InvalidRoutes(source, problems)
  const backends = new Map<string, RouteBackend>()
  for (const r of [...routes, ...(fallback ? [fallback] : [])]) if (r.backend) backends.set(r.backend.vclName, r.backend)
  return { routes, fallback, backends: [...backends.values()] }
}

/**
 * Where the routes come from: TESSERA_ROUTES and TESSERA_LEGACY_ORIGIN; with TESSERA_DEMO_LEGACY=on, the simulated
 * legacy CMS (legacy-demo/) and its routes file where those are unset.
 */
export function routeSources(config: { host: string; routesFile: string | undefined; legacyOrigin: string | undefined; demoLegacy: boolean; demoLegacyPort: number }): {
  routesFile: string | undefined
  legacyOrigin: string | undefined
} {
  if (!config.demoLegacy) return { routesFile: config.routesFile, legacyOrigin: config.legacyOrigin }
  return {
    routesFile: config.routesFile ?? path.join(projectRoot, 'legacy-demo', 'routes.yaml'),
    legacyOrigin: config.legacyOrigin ?? `http://${config.host}:${config.demoLegacyPort}`,
  }
}

/** Reads TESSERA_ROUTES (YAML or JSON) and TESSERA_LEGACY_ORIGIN; undefined when neither is set (today's routing). */
export function loadRoutes(routesFile: string | undefined, legacyOrigin: string | undefined): Routes | undefined {
  if (routesFile === undefined && legacyOrigin === undefined) return undefined
  let parsed: unknown
  if (routesFile !== undefined) {
    let text: string
    try {
      text = readFileSync(routesFile, 'utf8')
    } catch (err) {
      throw new InvalidRoutes(routesFile, [`cannot read the routes file (${(err as Error).message})`])
    }
    try {
      parsed = parseYaml(text)
    } catch (err) {
      throw new InvalidRoutes(routesFile, [`not YAML or JSON: ${(err as Error).message}`])
    }
  }
  return parseRoutes(parsed, legacyOrigin, routesFile ?? 'TESSERA_LEGACY_ORIGIN')
}
