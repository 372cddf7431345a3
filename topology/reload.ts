// Hot reload: the site VCL is generated again from the topology and loaded on every edge node through its admin
// port (vcl.inline + vcl.use, our own CLI client), while it serves: the cache is kept (objects do not belong to a
// VCL), readers see no error. The edge may be on another machine and cannot read our files, so the whole program
// travels inline: varnish/default.vcl with its `include "tessera-site.vcl";` line replaced by the generated text;
// the concern files it includes come from the edge's own vcl_path (the same release of varnish/*.vcl is installed
// there). A VCL that does not compile is refused by varnishd with its compiler's message; the running one stays.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Config } from '../platform/config.js'
import { TesseraError } from '../platform/errors.js'
import { projectRoot } from '../platform/paths.js'
import { VarnishCli, VarnishCliCommandFailed } from '../varnish-cli/varnish-cli.js'
import { renderSiteVcl, SHIELD_SITE_MARK, type ShieldAddress } from './site-vcl.js'
import { formatHostPort, innerAddressOf, loadTopology, type Topology, type TopologyEdge, type TopologyShield } from './topology.js'
import { loadRoutes, routeSources } from './routes.js'
import { renderRoutesVcl } from './routes-vcl.js'

/** What the site VCL needs besides the topology. */
export interface SiteSettings {
  purgeSecret: string
  debugToken: string
  /** The assembled-page tier (TESSERA_PAGE_TIER): each edge's inner address is in its site VCL. */
  pageTier: boolean
  /** The page tier's late-bound includes (TESSERA_PAGE_TIER_LATE_INCLUDES), in each edge's site VCL. */
  lateIncludes: string[]
  /** The routes file's part of the site VCL (topology/routes-vcl.ts); absent: Tessera answers every URL. */
  routesVcl?: string
}

export interface ReloadOptions {
  /** The exact bytes of varnishd's -S file (config.edgeAdminSecretFile). */
  adminSecret: Buffer
  site: SiteSettings
  /** VCLs kept on each edge, the active one included (default 3): older ones are discarded. */
  keep?: number
  /** Connect deadline per edge (default 5000 ms); a compile gets varnishd's own cli_timeout (60 s). */
  timeoutMs?: number
  log?: (line: string) => void
  /** Only the edges (a joining one): the shields keep what they run; the edges' VCL still names them. */
  edgesOnly?: boolean
}

export interface EdgeReloadResult {
  edge: string
  ok: boolean
  /** The name of the VCL now active on this edge (when ok). */
  vcl?: string
  /** Older VCLs discarded on this edge. */
  discarded: string[]
  error?: { code: string; message: string }
}

export interface ReloadReport {
  /** Every edge took the new VCL. */
  ok: boolean
  /** The name it was loaded under (the same on every edge). */
  vcl: string
  edges: EdgeReloadResult[]
  /** The shield tier's nodes (topology `shields:`), reloaded before the edges; absent without shields. */
  shields?: EdgeReloadResult[]
}

export class VclRefused extends TesseraError {
  readonly code = 'TESSERA_VCL_REFUSED'
  override readonly statusCode = 422
  constructor(edge: string, compilerMessage: string) {
    super(`edge ${edge} refused the new VCL (the running one stays):\n${compilerMessage.trim()}`)
  }
}

export class SiteSettingsMissing extends TesseraError {
  readonly code = 'TESSERA_SITE_SETTINGS_MISSING'
  constructor(names: string[]) {
    super(`${names.join(' and ')} must be set to generate the site VCL (npm start passes them to every service)`)
  }
}

export const DEFAULT_KEEP = 3
const SITE_INCLUDE = 'include "tessera-site.vcl";'

/** The site VCL (topology/site-vcl.ts) of one edge node: every instance, the purge ACL, its inner address. */
export function siteVclForEdge(topology: Topology, edge: TopologyEdge, site: SiteSettings): string {
  return renderSiteVcl({
    backends: topology.services,
    purgeAcl: topology.purgeAcl,
    purgeSecret: site.purgeSecret,
    debugToken: site.debugToken,
    pageTier: site.pageTier ? innerAddressOf(edge) : undefined,
    lateIncludes: site.pageTier ? site.lateIncludes : [],
    shields: topology.shields.map(shieldAddressOf),
    routesVcl: site.routesVcl,
  })
}

/** The site VCL of a shield node (varnish/shield.vcl): the origins, the purge ACL; no page tier, no shields. */
export function siteVclForShield(topology: Topology, site: SiteSettings): string {
  return renderSiteVcl({ backends: topology.services, purgeAcl: topology.purgeAcl, purgeSecret: site.purgeSecret, debugToken: site.debugToken, role: 'shield' })
}

/** A shield as the edges' site VCL names it (its HTTP address). */
export function shieldAddressOf(shield: TopologyShield): ShieldAddress {
  const url = new URL(shield.url)
  return { name: shield.name, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80) }
}

/** The whole edge program for vcl.inline: default.vcl with the site VCL in place of its include line. */
export function edgeVclSource(siteVcl: string, defaultVcl = readFileSync(path.join(projectRoot, 'varnish', 'default.vcl'), 'utf8')): string {
  const at = defaultVcl.indexOf(SITE_INCLUDE)
  if (at === -1 || defaultVcl.indexOf(SITE_INCLUDE, at + 1) !== -1) throw new Error(`varnish/default.vcl must include "tessera-site.vcl" exactly once`)
  return `${defaultVcl.slice(0, at)}# ---- tessera-site.vcl, generated (topology/reload.ts) ----\n${siteVcl}\n# ---- end of tessera-site.vcl ----${defaultVcl.slice(at + SITE_INCLUDE.length)}`
}

export function siteSettingsFromConfig(config: Config): SiteSettings {
  const missing = [...(config.purgeSecret ? [] : ['TESSERA_PURGE_SECRET']), ...(config.debugToken ? [] : ['TESSERA_DEBUG_TOKEN'])]
  if (missing.length) throw new SiteSettingsMissing(missing)
  return { purgeSecret: config.purgeSecret!, debugToken: config.debugToken!, pageTier: config.edge.pageTier, lateIncludes: config.edge.lateIncludes, routesVcl: routesVclFromConfig(config) }
}

/** TESSERA_ROUTES / TESSERA_LEGACY_ORIGIN (or the demo's, TESSERA_DEMO_LEGACY) as site VCL; read again on every reload. */
export function routesVclFromConfig(config: Config, routesFile?: string): string {
  const sources = routeSources(config)
  return renderRoutesVcl(loadRoutes(routesFile ?? sources.routesFile, sources.legacyOrigin))
}

/** A VCL name varnishd accepts, sortable by time and unique per reload: tessera-20261202-173501-123-9f3a. */
export function vclName(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\.(\d{3})Z$/, '-$1')
  return `tessera-${stamp}-${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0')}`
}

async function reloadEdge(edge: TopologyEdge, source: string, name: string, options: ReloadOptions): Promise<EdgeReloadResult> {
  const log = options.log ?? (() => {})
  const result: EdgeReloadResult = { edge: edge.name, ok: false, discarded: [] }
  let cli: VarnishCli | undefined
  try {
    cli = await VarnishCli.connect({ host: edge.admin.host, port: edge.admin.port, secret: options.adminSecret, timeoutMs: options.timeoutMs ?? 5000 })
    try {
      await cli.vclInline(name, source)
    } catch (err) {
      if (err instanceof VarnishCliCommandFailed) throw new VclRefused(edge.name, err.body)
      throw err
    }
    await cli.vclUse(name)
    result.ok = true
    result.vcl = name
    log(`${edge.name} (${formatHostPort(edge.admin)}): now runs VCL ${name}`)
    // Keep the newest few (a quick way back with `varnishadm vcl.use`), discard the rest: each loaded VCL
    // holds its backends and probes. vcl.list lists them in the order they were loaded.
    const keep = Math.max(1, options.keep ?? DEFAULT_KEEP)
    const loaded = (await cli.vclList()).filter((v) => v.status !== 'discarded')
    const inactive = loaded.filter((v) => v.status !== 'active' && v.name !== name)
    for (const old of inactive.slice(0, Math.max(0, inactive.length - (keep - 1)))) {
      try {
        await cli.vclDiscard(old.name)
        result.discarded.push(old.name)
      } catch (err) {
        log(`${edge.name}: could not discard VCL ${old.name} yet: ${(err as Error).message}`)
      }
    }
  } catch (err) {
    const e = err as Error & { code?: string }
    result.error = { code: e instanceof TesseraError ? e.code : 'TESSERA_RELOAD_FAILED', message: e.message }
    log(`${edge.name} (${formatHostPort(edge.admin)}): ${e.message}`)
  } finally {
    await cli?.close().catch(() => {})
  }
  return result
}

/**
 * Generates the site VCL of every edge in `topology` and makes it the active VCL there (vcl.inline + vcl.use),
 * in parallel; older VCLs beyond `keep` are discarded. One edge's failure (unreachable, refused) is reported in
 * its own result and leaves that edge on its running VCL; it never throws for it.
 */
export async function reloadEdges(topology: Topology, options: ReloadOptions): Promise<ReloadReport> {
  const name = vclName()
  // The shields first (varnish/shield.vcl): their origins' instances, before the edges name a shield anew.
  const shields = await Promise.all((options.edgesOnly ? [] : topology.shields).map((shield) => reloadEdge(shield, edgeVclSource(siteVclForShield(topology, options.site)), name, options)))
  const edges = await Promise.all(topology.edges.map((edge) => reloadEdge(edge, edgeVclSource(siteVclForEdge(topology, edge, options.site)), name, options)))
  return { ok: edges.every((e) => e.ok) && shields.every((s) => s.ok), vcl: name, edges, ...(shields.length ? { shields } : {}) }
}

/**
 * reloadEdges with what the configuration says: TESSERA_TOPOLOGY (or the defaults), the admin secret file, the
 * site settings. `edges` replaces the topology's edge list (the purge service's live set). For each edge whose
 * site file the launcher wrote on this machine (STATE/vcl/<name>/tessera-site.vcl), the file is rewritten too, so
 * a restart of that varnishd boots the same VCL.
 */
export async function reloadFromConfig(
  config: Config,
  overrides: { topology?: Topology; edges?: TopologyEdge[]; site?: SiteSettings; keep?: number; log?: (line: string) => void; edgesOnly?: boolean } = {},
): Promise<ReloadReport> {
  const base = overrides.topology ?? loadTopology(config)
  const topology = overrides.edges ? { ...base, edges: overrides.edges } : base
  const site = overrides.site ?? siteSettingsFromConfig(config)
  const report = await reloadEdges(topology, { adminSecret: readFileSync(config.edgeAdminSecretFile), site, keep: overrides.keep, log: overrides.log, edgesOnly: overrides.edgesOnly })
  for (const edge of topology.edges) {
    const file = localSiteFile(config.stateDir, edge.name)
    if (report.edges.find((e) => e.edge === edge.name)?.ok && existsSync(path.dirname(file))) writeFileSync(file, siteVclForEdge(topology, edge, site))
  }
  for (const shield of topology.shields) {
    const file = localSiteFile(config.stateDir, shield.name)
    if (report.shields?.find((e) => e.edge === shield.name)?.ok && existsSync(path.dirname(file))) writeFileSync(file, siteVclForShield(topology, site))
  }
  return report
}

/**
 * Shields the launcher started on this machine (their site VCL is in the state dir) that `topology` does not name:
 * a reload with this topology would take them out of the edges' VCL (say TESSERA_SHIELD=on was left out).
 */
export function shieldsLeftOut(stateDir: string, topology: Topology): string[] {
  const dir = path.join(stateDir, 'vcl')
  if (!existsSync(dir)) return []
  const named = new Set(topology.shields.map((s) => s.name))
  const isShieldVcl = (file: string) => existsSync(file) && readFileSync(file, 'utf8').includes(SHIELD_SITE_MARK)
  return readdirSync(dir).filter((name) => !named.has(name) && isShieldVcl(localSiteFile(stateDir, name))).sort()
}

/** Where the launcher writes an edge's site VCL (first on that varnishd's vcl_path). */
export function localSiteFile(stateDir: string, edgeName: string): string {
  return path.join(stateDir, 'vcl', edgeName, 'tessera-site.vcl')
}
