// Where everything runs: every instance of every service behind the edge (host:port), every edge node, and
// (issue 14) the shield nodes. From TESSERA_TOPOLOGY (a YAML file) or, without it, the single-machine defaults
// (TESSERA_*_PORT, TESSERA_INSTANCES, TESSERA_EDGE_*). The site VCL is generated from it (topology/reload.ts).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { type Config, edgeWorkDir, INSTANCE_PORT_STEP, ORIGIN_NAMES, type OriginName, shieldWorkDir } from '../platform/config.js'
import { TesseraError } from '../platform/errors.js'

export type TopologyService = OriginName

export interface HostPort {
  host: string
  port: number
}

export interface TopologyEdge {
  /** [a-z0-9-], unique among edges (and shields). */
  name: string
  /** The node's front: readers and PURGE (http://host:port). */
  url: string
  /** varnishd's -T address. */
  admin: HostPort
  /** varnishd's -n work dir, for a node on this machine (varnishstat, varnishlog); absent for a remote one. */
  workdir?: string
  /** The page tier's inner listen address, on the edge's own machine (default 127.0.0.1:<front port + 1>). */
  inner?: HostPort
}

/** A shield node between the edges and the origins (issue 14): parsed and validated here, used there. */
export interface TopologyShield {
  name: string
  url: string
  admin: HostPort
  workdir?: string
}

export interface Topology {
  /** Every service behind the edge, each with at least one instance. */
  services: Record<TopologyService, HostPort[]>
  /** At least one. */
  edges: TopologyEdge[]
  /** Empty when the file has none. */
  shields: TopologyShield[]
  /** Addresses or CIDRs an edge takes PURGE from (the purge service's hosts); default 127.0.0.1 and ::1. */
  purgeAcl: string[]
  /** The file it was read from, or 'defaults'. */
  source: string
}

export class InvalidTopology extends TesseraError {
  readonly code = 'TESSERA_INVALID_TOPOLOGY'
  override readonly statusCode = 400
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`topology ${source} is not valid:\n  - ${problems.join('\n  - ')}`)
  }
}

export const DEFAULT_PURGE_ACL = ['127.0.0.1', '::1']

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9a-fA-F:.]+\])$/
const NAME = /^[a-z][a-z0-9-]{0,30}$/
const ACL_ENTRY = /^[0-9a-fA-F.:]+(\/[0-9]{1,3})?$/

/** host:port ([v6]:port), checked: nothing in it can reach VCL unquoted. */
function hostPort(value: unknown, where: string, problems: string[]): HostPort | undefined {
  const text = typeof value === 'number' ? String(value) : value
  if (typeof text !== 'string') {
    problems.push(`${where}: must be "host:port", got ${JSON.stringify(value)}`)
    return undefined
  }
  const m = text.trim().match(/^(.+):(\d{1,5})$/)
  const port = m ? Number(m[2]) : NaN
  if (!m || !HOST.test(m[1]) || port < 1 || port > 65535) {
    problems.push(`${where}: ${JSON.stringify(text)} must be host:port (a host name or address, a port 1-65535)`)
    return undefined
  }
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port }
}

function httpUrl(value: unknown, where: string, problems: string[]): string | undefined {
  if (typeof value !== 'string') {
    problems.push(`${where}: must be an http:// URL, got ${JSON.stringify(value)}`)
    return undefined
  }
  try {
    const u = new URL(value)
    if (u.protocol !== 'http:' || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) throw new Error('not a base URL')
    return `http://${u.host}`
  } catch {
    problems.push(`${where}: ${JSON.stringify(value)} must be an http:// base URL (http://host:port)`)
    return undefined
  }
}

function unknownKeys(object: Record<string, unknown>, allowed: string[], where: string, problems: string[]): void {
  for (const key of Object.keys(object)) if (!allowed.includes(key)) problems.push(`${where}: unknown key ${JSON.stringify(key)} (known: ${allowed.join(', ')})`)
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function nodes<T extends TopologyShield>(
  raw: unknown,
  kind: 'edges' | 'shields' | 'shield',
  names: Set<string>,
  problems: string[],
  extra: (entry: Record<string, unknown>, where: string, node: TopologyShield) => T,
): T[] {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) {
    problems.push(`${kind}: must be a list of {name, url, admin${kind === 'edges' ? ', workdir?, inner?' : ', workdir?'}}`)
    return []
  }
  const out: T[] = []
  raw.forEach((entry, i) => {
    const where = `${kind}[${i}]`
    if (!isObject(entry)) {
      problems.push(`${where}: must be a mapping with name, url and admin`)
      return
    }
    unknownKeys(entry, kind === 'edges' ? ['name', 'url', 'admin', 'workdir', 'inner'] : ['name', 'url', 'admin', 'workdir'], where, problems)
    const name = entry.name
    if (typeof name !== 'string' || !NAME.test(name)) problems.push(`${where}.name: ${JSON.stringify(name)} must be 1-31 characters of [a-z0-9-], starting with a letter`)
    else if (names.has(name)) problems.push(`${where}.name: ${name} is used twice (edge and shield names are unique)`)
    else names.add(name)
    const url = httpUrl(entry.url, `${where}.url`, problems)
    const admin = hostPort(entry.admin, `${where}.admin`, problems)
    let workdir: string | undefined
    if (entry.workdir !== undefined) {
      if (typeof entry.workdir !== 'string' || !path.isAbsolute(entry.workdir)) problems.push(`${where}.workdir: must be an absolute path (the varnishd -n dir on this machine)`)
      else workdir = entry.workdir
    }
    if (typeof name === 'string' && url && admin) out.push(extra(entry, where, { name, url, admin, ...(workdir ? { workdir } : {}) }))
  })
  return out
}

const edgeExtra = (problems: string[]) => (entry: Record<string, unknown>, where: string, node: TopologyShield): TopologyEdge => {
  const inner = entry.inner === undefined ? undefined : hostPort(entry.inner, `${where}.inner`, problems)
  return { ...node, ...(inner ? { inner } : {}) }
}

/**
 * One edge node given on its own ({url, admin, workdir?, inner?} named `name`, as PUT /edges/:name takes it), by
 * the rules of the file's `edges:` entries: the node, or every problem as "<field>: <what is wrong>".
 */
export function parseEdgeNode(name: string, fields: Record<string, unknown>): { edge?: TopologyEdge; problems: string[] } {
  const problems: string[] = []
  const [edge] = nodes([{ ...fields, name }], 'edges', new Set(), problems, edgeExtra(problems))
  return { edge: problems.length ? undefined : edge, problems: problems.map((p) => p.replace(/^edges\[0\]\.?/, '').replace(/^: /, 'body: ')) }
}

/** Parses and validates a topology file's text; every problem is listed in one InvalidTopology. */
export function parseTopology(text: string, source: string): Topology {
  const problems: string[] = []
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (err) {
    throw new InvalidTopology(source, [`not YAML: ${(err as Error).message}`])
  }
  if (!isObject(doc)) throw new InvalidTopology(source, ['must be a mapping with services: and edges: (see the README, "Running on several machines")'])
  unknownKeys(doc, ['services', 'edges', 'shields', 'shield', 'purge_acl'], 'top level', problems)

  const services = {} as Record<TopologyService, HostPort[]>
  const rawServices = doc.services
  if (!isObject(rawServices)) problems.push(`services: must map each of ${ORIGIN_NAMES.join(', ')} to a list of host:port`)
  else {
    unknownKeys(rawServices, [...ORIGIN_NAMES], 'services', problems)
    for (const name of ORIGIN_NAMES) {
      const list = rawServices[name]
      if (!Array.isArray(list) || list.length === 0) {
        problems.push(`services.${name}: must list at least one instance as host:port`)
        continue
      }
      const seen = new Set<string>()
      services[name] = []
      list.forEach((item, i) => {
        const hp = hostPort(item, `services.${name}[${i}]`, problems)
        if (!hp) return
        const key = `${hp.host}:${hp.port}`
        if (seen.has(key)) problems.push(`services.${name}[${i}]: ${key} is listed twice`)
        seen.add(key)
        services[name].push(hp)
      })
    }
  }

  const names = new Set<string>()
  const edges = nodes(doc.edges, 'edges', names, problems, edgeExtra(problems))
  if (doc.edges === undefined || (Array.isArray(doc.edges) && doc.edges.length === 0)) problems.push('edges: must list at least one edge node {name, url, admin}')
  // `shields:` (a list, like edges:) is the documented key; `shield:` (the issue's name) is read the same way, as a
  // list or as the one shield's mapping.
  if (doc.shield !== undefined && doc.shields !== undefined) problems.push('shield: and shields: name the same list; use one (shields: preferred)')
  const shields = doc.shields !== undefined || doc.shield === undefined
    ? nodes(doc.shields, 'shields', names, problems, (_entry, _where, node) => node)
    : nodes(isObject(doc.shield) ? [doc.shield] : doc.shield, 'shield', names, problems, (_entry, _where, node) => node)

  let purgeAcl = DEFAULT_PURGE_ACL
  if (doc.purge_acl !== undefined) {
    if (!Array.isArray(doc.purge_acl) || doc.purge_acl.length === 0) problems.push('purge_acl: must be a list of addresses or CIDRs (the purge service hosts)')
    else {
      purgeAcl = doc.purge_acl.map(String)
      for (const entry of purgeAcl) if (!ACL_ENTRY.test(entry)) problems.push(`purge_acl: ${JSON.stringify(entry)} is not an address or CIDR`)
    }
  }

  if (problems.length > 0) throw new InvalidTopology(source, problems)
  return { services, edges, shields, purgeAcl, source }
}

/**
 * The single-machine topology of `npm start`: TESSERA_INSTANCES processes of each service, instance i on the
 * service's port + 1000 x i, and the configured edge node(s).
 */
export function defaultTopology(config: Config, extraEdges: Array<{ port: number; adminPort: number; innerPort: number }> = []): Topology {
  const problems: string[] = []
  const services = {} as Record<TopologyService, HostPort[]>
  for (const name of ORIGIN_NAMES) {
    services[name] = Array.from({ length: config.instances[name] }, (_, i) => {
      const port = config.ports[name] + INSTANCE_PORT_STEP * i
      if (port > 65535) problems.push(`TESSERA_INSTANCES: ${name} instance ${i + 1} would listen on port ${port} (port + ${INSTANCE_PORT_STEP} x ${i}), above 65535; lower TESSERA_${name.toUpperCase()}_PORT`)
      return { host: config.host, port }
    })
  }
  if (problems.length > 0) throw new InvalidTopology('defaults', problems)
  const specs = [{ port: config.edge.port, adminPort: config.edge.adminPort, innerPort: config.edge.innerPort }, ...extraEdges]
  const edges = specs.map((spec, i): TopologyEdge => ({
    name: `edge${i + 1}`,
    url: `http://${config.host}:${spec.port}`,
    admin: { host: config.host, port: spec.adminPort },
    workdir: edgeWorkDir(config.stateDir, i),
    inner: { host: '127.0.0.1', port: spec.innerPort },
  }))
  // TESSERA_SHIELD=on: one shield between the edges and the origins (varnish/shield.vcl).
  const shields = config.shield.enabled
    ? [{ name: 'shield1', url: `http://${config.host}:${config.shield.port}`, admin: { host: config.host, port: config.shield.adminPort }, workdir: shieldWorkDir(config.stateDir, 0) }]
    : []
  return { services, edges, shields, purgeAcl: DEFAULT_PURGE_ACL, source: 'defaults' }
}

/** TESSERA_TOPOLOGY's file when set, else the single-machine defaults (TESSERA_INSTANCES included). */
export function loadTopology(config: Config): Topology {
  if (!config.topologyFile) return defaultTopology(config)
  let text: string
  try {
    text = readFileSync(config.topologyFile, 'utf8')
  } catch (err) {
    throw new InvalidTopology(config.topologyFile, [`cannot be read (TESSERA_TOPOLOGY): ${(err as Error).message}`])
  }
  return parseTopology(text, config.topologyFile)
}

/** The page tier's inner address of an edge: its own, or loopback on the front's port + 1. */
export function innerAddressOf(edge: TopologyEdge): HostPort {
  return edge.inner ?? { host: '127.0.0.1', port: Number(new URL(edge.url).port || 80) + 1 }
}

/** host:port as written in a URL or a CLI address ([v6]:port). */
export function formatHostPort({ host, port }: HostPort): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}
