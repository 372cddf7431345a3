import { ContentRepository } from '../content/repository.js'
import { loadConfig, portFromArgs } from '../platform/config.js'
import { connectConfiguredRedis } from '../platform/redis.js'
import { serve } from '../platform/service.js'
import { buildLayoutApp } from './app.js'

const config = loadConfig(process.env)
const redis = connectConfiguredRedis(config, 'layout')
const app = buildLayoutApp({ content: new ContentRepository(redis), redis, logLevel: config.logLevel, previewSecret: config.previewSecret })
app.addHook('onClose', async () => {
  redis.disconnect()
})
await serve(app, config.host, portFromArgs(process.argv, config.ports.layout))
