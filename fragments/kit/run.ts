// What every fragment's server.ts does: read config, connect to Redis, build, listen, close cleanly.
import { ContentRepository } from '../../content/repository.js'
import { buildFragmentApp } from './app.js'
import { loadConfig, portFromArgs, redisUrlOf } from './config.js'
import type { FragmentDefinition } from './fragment.js'
import { connectRedis } from './redis.js'
import { serve } from './service.js'

export async function runFragment(fragment: FragmentDefinition): Promise<void> {
  const config = loadConfig(process.env)
  const redis = connectRedis(redisUrlOf(config), fragment.name)
  const app = buildFragmentApp(fragment, { content: new ContentRepository(redis), redis, logLevel: config.logLevel })
  app.addHook('onClose', async () => {
    redis.disconnect()
  })
  await serve(app, config.host, portFromArgs(process.argv, config.ports[fragment.name]))
}
