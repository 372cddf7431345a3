// What every fragment's server.ts does: read config, connect to Redis, follow the policy overrides, build,
// listen, close cleanly.
import { ContentRepository } from '../../content/repository.js'
import { buildFragmentApp } from './app.js'
import { loadConfig, portFromArgs } from '../../platform/config.js'
import type { FragmentDefinition } from './fragment.js'
import { createLogger } from '../../platform/log.js'
import { PolicySource } from '../../cache/policy-source.js'
import { connectConfiguredRedis } from '../../platform/redis.js'
import { serve } from '../../platform/service.js'

export async function runFragment(fragment: FragmentDefinition): Promise<void> {
  const config = loadConfig(process.env)
  const redis = connectConfiguredRedis(config, fragment.name)
  const policies = await PolicySource.start({
    fragment: fragment.name,
    defaults: fragment.policy,
    redis,
    log: createLogger(`fragment-${fragment.name}`, config.logLevel),
  })
  const app = buildFragmentApp(fragment, { content: new ContentRepository(redis), redis, logLevel: config.logLevel, policies, renderDelayMs: config.renderDelayMs })
  app.addHook('onClose', async () => {
    await policies.close()
    redis.disconnect()
  })
  await serve(app, config.host, portFromArgs(process.argv, config.ports[fragment.name]))
}
