// Starts the content API alone: `node dist/content/api/server.js [--port 3200]`. Needs TESSERA_EDITOR_TOKEN.
import { loadConfig, portFromArgs } from '../../platform/config.js'
import { connectConfiguredRedis } from '../../platform/redis.js'
import { serve } from '../../platform/service.js'
import { ContentRepository } from '../repository.js'
import { buildContentApi } from './app.js'

function fail(message: string): never {
  process.stderr.write(`content API not started: ${message}\n`)
  process.exit(1)
}

let config: ReturnType<typeof loadConfig>
let port: number
try {
  config = loadConfig(process.env)
  port = portFromArgs(process.argv, config.ports.content)
} catch (err) {
  fail(err instanceof Error ? err.message : String(err))
}
const editorToken = config.editorToken
if (!editorToken) {
  fail('TESSERA_EDITOR_TOKEN is not set. Set it to 16-256 characters of [A-Za-z0-9._~-]; editors send it as "Authorization: Bearer <token>".')
}

const redis = connectConfiguredRedis(config, 'content')
const repo = new ContentRepository(redis)
const app = buildContentApi({ repo, editorToken, logLevel: config.logLevel })
// A store written before the update and search indexes gets them now (once; a no-op afterwards).
try {
  const { rebuilt, articles } = await repo.ensureIndexes()
  if (rebuilt) app.log.info({ articles }, 'built the article update and search indexes')
} catch (err) {
  app.log.warn({ err }, 'could not check the content indexes now (store unavailable?); lists and search may miss older articles until the next start')
}
// ioredis reconnects on its own; meanwhile requests answer 503 (StoreUnavailable). Log each outage once, do not crash.
let down = false
redis.on('error', (err: Error) => {
  if (down) return
  down = true
  app.log.warn({ err, code: 'TESSERA_STORE_UNAVAILABLE' }, 'content store (Redis) unreachable; retrying in the background')
})
redis.on('ready', () => {
  if (down) app.log.info('content store (Redis) reachable again')
  down = false
})
app.addHook('onClose', async () => {
  await redis.quit().catch(() => redis.disconnect())
})
await serve(app, config.host, port)
