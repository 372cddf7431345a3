import { InvalidConfig } from '../fragments/kit/errors.js'
import { loadConfig, portFromArgs } from '../fragments/kit/config.js'
import { createLogger } from '../fragments/kit/log.js'
import { connectConfiguredRedis } from '../fragments/kit/redis.js'
import { serve } from '../fragments/kit/service.js'
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
import { urlsAffectedBy } from '../fragments/kit/key-index.js'

const config = loadConfig(process.env)
if (!config.editorToken || !config.purgeSecret) {
  throw new InvalidConfig(['TESSERA_EDITOR_TOKEN and TESSERA_PURGE_SECRET must be set for the purge service (npm start sets both)'])
}
// A bad TTL file stops the service here, before it connects to anything.
const ttlOverrides = config.ttlFile ? await loadTtlFile(config.ttlFile) : undefined
const log = createLogger('purge', config.logLevel)
const redis = connectConfiguredRedis(config, 'purge')
const consumerRedis = connectConfiguredRedis(config, 'purge-consumer')
const purger = new Purger({ redis, nodes: config.edgeNodes, shields: config.shield.nodes, secret: config.purgeSecret, timeoutMs: config.purge.timeoutMs, coalesceMs: config.purge.coalesceMs, log })
// Trims tessera:events below what every consumer group has acknowledged; reports the backlog (GET /edges, /metrics).
const eventLog = new EventLog({ redis, cap: config.purge.eventsBacklogCap, intervalMs: config.purge.eventsTrimMs, log })
const app = buildPurgeApi({
  redis,
  purger,
  eventLog,
  editorToken: config.editorToken,
  opsToken: config.opsToken,
  edgeAdmins: config.edgeAdmins,
  adminSecretFile: config.edgeAdminSecretFile,
  edgeWorkDirs: config.edgeWorkDirs,
  shieldAdmins: config.shield.admins,
  shieldWorkDirs: config.shield.workDirs,
  warmConcurrency: config.purge.warmConcurrency,
  logger: log,
})
const consumer = new EventConsumer({
  redis: consumerRedis,
  purger,
  log,
  consumerName: process.env.TESSERA_PURGE_CONSUMER,
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
await serve(app, config.host, portFromArgs(process.argv, config.ports.purge))
