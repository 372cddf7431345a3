import os from 'node:os'
import { InvalidConfig } from '../platform/errors.js'
import { loadConfig, portFromArgs } from '../platform/config.js'
import { createLogger } from '../platform/log.js'
import { connectConfiguredRedis } from '../platform/redis.js'
import { serve } from '../platform/service.js'
import { buildPurgeApi } from './app.js'
import { EventConsumer } from './consumer.js'
import { EventLog } from './event-log.js'
import { contentLists } from './keys-for-event.js'
import { ContentRepository } from '../content/repository.js'
import { PolicyStore } from './policy-store.js'
import { addEventBacklogMetrics, countProcessedEvents } from './purge-metrics.js'
import { Purger } from './purger.js'
import { applyTtlOverrides, loadTtlFile } from './ttl-file.js'
import { warm } from './warmup.js'
import { urlsAffectedBy } from '../cache/key-index.js'
import { reloadFromConfig } from '../topology/reload.js'
import { loadTopology, type TopologyEdge } from '../topology/topology.js'
import { EdgeSet } from '../topology/edge-set.js'
import type { TopologyControl } from './edges-api.js'

const config = loadConfig(process.env)
if (!config.editorToken || !config.purgeSecret) {
  throw new InvalidConfig(['TESSERA_EDITOR_TOKEN and TESSERA_PURGE_SECRET must be set for the purge service (npm start sets both)'])
}
// A bad TTL file stops the service here, before it connects to anything.
const ttlOverrides = config.ttlFile ? await loadTtlFile(config.ttlFile) : undefined
const log = createLogger('purge', config.logLevel)
const redis = connectConfiguredRedis(config, 'purge')
const consumerRedis = connectConfiguredRedis(config, 'purge-consumer')
const port = portFromArgs(process.argv, config.ports.purge)
// host:port: unique per instance, in the consumer group and in the queue leases.
const instanceName = process.env.TESSERA_PURGE_CONSUMER || `${os.hostname()}:${port}`
// The live edge set starts as the topology's edges (TESSERA_TOPOLOGY, else TESSERA_EDGE_NODES/_ADMINS/_WORKDIRS).
// A file's edge without a workdir takes the one the launcher gave for its URL (TESSERA_EDGE_WORKDIRS).
const localWorkDir = (url: string) => config.edgeWorkDirs[config.edgeNodes.indexOf(url)]
const initialEdges: TopologyEdge[] = config.topologyFile
  ? loadTopology(config).edges.map((e) => (e.workdir || !localWorkDir(e.url) ? e : { ...e, workdir: localWorkDir(e.url) }))
  : config.edgeNodes.map((url, i) => ({ name: `edge${i + 1}`, url, admin: config.edgeAdmins[i] ?? { host: config.host, port: config.edge.adminPort }, ...(config.edgeWorkDirs[i] ? { workdir: config.edgeWorkDirs[i] } : {}) }))
const edgeSet = new EdgeSet(redis)
await edgeSet.seed(initialEdges)
const purger = new Purger({
  redis,
  nodes: config.edgeNodes,
  shields: config.shield.nodes,
  secret: config.purgeSecret,
  timeoutMs: config.purge.timeoutMs,
  coalesceMs: config.purge.coalesceMs,
  log,
  edgeSet,
  instanceName,
  queueLeaseMs: config.purge.queueLeaseMs,
})
const topology: TopologyControl = {
  // Only the joining node: the file's services (and shields), as the other edges run them.
  loadVcl: async (edge) => (await reloadFromConfig(config, { edges: [edge], edgesOnly: true, log: (line) => log.info(line) })).edges[0]!,
  reload: async (pick) => {
    const topology = loadTopology(config)
    return reloadFromConfig(config, { topology, edges: await pick(topology.edges), log: (line) => log.info(line) })
  },
}
// Trims tessera:events below what every consumer group has acknowledged; reports the backlog (GET /edges, /metrics).
const eventLog = new EventLog({ redis, cap: config.purge.eventsBacklogCap, intervalMs: config.purge.eventsTrimMs, log })
const app = buildPurgeApi({
  redis,
  purger,
  eventLog,
  editorToken: config.editorToken,
  opsToken: config.opsToken,
  previewSecret: config.previewSecret,
  siteUrl: config.edgeNodes[0],
  edgeAdmins: config.edgeAdmins,
  adminSecretFile: config.edgeAdminSecretFile,
  edgeWorkDirs: config.edgeWorkDirs,
  shieldAdmins: config.shield.admins,
  shieldWorkDirs: config.shield.workDirs,
  warmConcurrency: config.purge.warmConcurrency,
  topology,
  logger: log,
})
const consumer = new EventConsumer({
  redis: consumerRedis,
  purger,
  log,
  consumerName: instanceName,
  claimIdleMs: config.purge.claimIdleMs,
  lists: contentLists(new ContentRepository(redis)),
  onPurged: config.purge.warmAfterEvents
    ? (record) => {
        void urlsAffectedBy(redis, record.keys, [])
          .then((urls) => warm(purger.nodes.map((n) => purger.client(n)), urls, config.purge.warmConcurrency))
          .catch((err) => app.log.warn({ err }, 'warm-up failed'))
      }
    : undefined,
})
countProcessedEvents(app, () => consumer.processed)
addEventBacklogMetrics(app, eventLog)
app.addHook('onClose', async () => {
  eventLog.stop()
  await consumer.stop()
  await purger.close()
  redis.disconnect()
})
await purger.start()
if (ttlOverrides) await applyTtlOverrides(ttlOverrides, new PolicyStore(redis), purger, log)
await consumer.start()
eventLog.start()
await serve(app, config.host, port)
