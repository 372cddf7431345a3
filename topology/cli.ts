// `npm run topology -- <command>`: the topology file (TESSERA_TOPOLOGY) and the edges' VCL.
//   check            validate the topology and print it
//   vcl [edge]       print the VCL `reload` would send to an edge (default: the first)
//   site-vcl [edge]  print only that edge's tessera-site.vcl (for the file a varnishd on another machine boots with)
//   reload           regenerate the site VCL and make it active on every edge of the purge service's live edge set
//                    (and the file's edges it has never had; the file's when Redis does not answer) (vcl.inline + vcl.use); older
//                    VCLs beyond the last 3 are discarded. Exit 1 if any edge refused it or could not be reached.
// Secrets: TESSERA_PURGE_SECRET / TESSERA_DEBUG_TOKEN, else those `npm start` keeps in the state dir; the admin
// secret: TESSERA_EDGE_ADMIN_SECRET_FILE (default STATE/varnish-secret).
import { setTimeout as delay } from 'node:timers/promises'
import { type Config, loadConfig } from '../platform/config.js'
import { connectConfiguredRedis } from '../platform/redis.js'
import { EdgeSet } from './edge-set.js'
import { TesseraError } from '../platform/errors.js'
import { storedSecrets } from '../platform/secrets.js'
import { edgeVclSource, reloadFromConfig, shieldsLeftOut, type SiteSettings, siteSettingsFromConfig, siteVclForEdge } from './reload.js'
import { formatHostPort, loadTopology, type Topology, type TopologyEdge } from './topology.js'

/**
 * The purge service's live edge set (PUT/DELETE /edges) with the file's edges it has never had, when Redis
 * answers within a few seconds; undefined (the file's edges) when it does not.
 */
async function liveEdges(config: Config, topology: Topology): Promise<TopologyEdge[] | undefined> {
  const redis = connectConfiguredRedis(config, 'topology-cli')
  try {
    const edges = await Promise.race([new EdgeSet(redis).reloadTargets(topology.edges), delay(3000, undefined, { ref: false })])
    if (!edges) process.stderr.write('warning: Redis did not answer: reloading the edges the file names (not the purge service\'s live edge set)\n')
    return edges
  } catch (err) {
    process.stderr.write(`warning: the live edge set could not be read (${(err as Error).message}): reloading the edges the file names\n`)
    return undefined
  } finally {
    redis.disconnect()
  }
}

const USAGE = 'usage: npm run topology -- check | vcl [edge] | site-vcl [edge] | reload'

async function main(argv: string[]): Promise<number> {
  const [command, arg] = argv
  const config = loadConfig(process.env)
  const stored = storedSecrets(config)
  const site = (): SiteSettings =>
    siteSettingsFromConfig({ ...config, purgeSecret: config.purgeSecret ?? stored.purgeSecret, debugToken: config.debugToken ?? stored.debugToken })
  const topology = loadTopology(config)
  switch (command) {
    case 'check': {
      process.stdout.write(`topology ${topology.source}: valid\n`)
      for (const [name, list] of Object.entries(topology.services)) process.stdout.write(`  ${name.padEnd(9)} ${list.map(formatHostPort).join(', ')}\n`)
      for (const e of topology.edges) process.stdout.write(`  edge ${e.name}: ${e.url}, admin ${formatHostPort(e.admin)}${e.workdir ? `, work dir ${e.workdir}` : ''}\n`)
      for (const s of topology.shields) process.stdout.write(`  shield ${s.name}: ${s.url}, admin ${formatHostPort(s.admin)}\n`)
      process.stdout.write(`  purge ACL: ${topology.purgeAcl.join(', ')}\n`)
      return 0
    }
    case 'vcl':
    case 'site-vcl': {
      const edge = arg ? topology.edges.find((e) => e.name === arg) : topology.edges[0]
      if (!edge) {
        process.stderr.write(`no edge ${arg} in topology ${topology.source} (edges: ${topology.edges.map((e) => e.name).join(', ')})\n`)
        return 2
      }
      const siteVcl = siteVclForEdge(topology, edge, site())
      process.stdout.write(command === 'vcl' ? edgeVclSource(siteVcl) : siteVcl)
      return 0
    }
    case 'reload': {
      const leftOut = shieldsLeftOut(config.stateDir, topology)
      if (leftOut.length) {
        process.stderr.write(`warning: this topology names no ${leftOut.join(', ')}, which npm start runs from ${config.stateDir}: the edges will stop using ${leftOut.length > 1 ? 'them' : 'it'} (reload with the environment npm start had, e.g. TESSERA_SHIELD=on)\n`)
      }
      const edges = await liveEdges(config, topology)
      const report = await reloadFromConfig(config, { topology, site: site(), ...(edges ? { edges } : {}) })
      for (const e of [...(report.shields ?? []), ...report.edges]) {
        if (e.ok) process.stdout.write(`${e.edge}: now runs ${e.vcl}${e.discarded.length ? ` (discarded ${e.discarded.join(', ')})` : ''}\n`)
        else process.stderr.write(`${e.edge}: ${e.error?.code}: ${e.error?.message}\n`)
      }
      const nodes = [...(report.shields ?? []), ...report.edges]
      const shields = report.shields?.length ? ` and shield (${report.shields.length})` : ''
      process.stdout.write(report.ok ? `every edge (${report.edges.length})${shields} runs ${report.vcl}\n` : `${nodes.filter((e) => !e.ok).length} of ${nodes.length} nodes did not take ${report.vcl}; they keep the VCL they were running\n`)
      return report.ok ? 0 : 1
    }
    default:
      process.stderr.write(`${USAGE}\n`)
      return 2
  }
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (err) {
  process.stderr.write(`${err instanceof TesseraError ? `${err.code}: ` : ''}${(err as Error).message}\n`)
  process.exitCode = 1
}
