// `npm run seed -- --articles 100000`: fills the configured Redis (REDIS_URL or our own on TESSERA_REDIS_PORT;
// start the stack first) with the demo magazine if it is empty, plus N generated articles (content/generated.ts),
// written in pipelined batches through the import path, so every batch also writes its change event.
import { redisUrlOf, loadConfig } from '../platform/config.js'
import { connectConfiguredRedis } from '../platform/redis.js'
import { ContentRepository } from '../content/repository.js'
import { seedGeneratedArticles } from '../content/generated.js'

const args = process.argv.slice(2)
const at = args.indexOf('--articles')
const count = at === -1 ? 0 : Number(args[at + 1])
if (at === -1 || !Number.isSafeInteger(count) || count < 1 || count > 10_000_000 || args.length !== 2) {
  process.stderr.write('usage: npm run seed -- --articles N   (N from 1 to 10000000)\n')
  process.exit(2)
}
const config = loadConfig(process.env)
const redis = connectConfiguredRedis(config, 'seed')
const started = performance.now()
let lastReport = 0
const { written, failed } = await seedGeneratedArticles(new ContentRepository(redis), count, {
  onBatch: (done) => {
    if (performance.now() - lastReport < 2000) return
    lastReport = performance.now()
    process.stdout.write(`  ${done} / ${count}\n`)
  },
})
const seconds = (performance.now() - started) / 1000
process.stdout.write(`seeded ${written} articles (${failed} refused) into ${redisUrlOf(config)} in ${seconds.toFixed(1)} s: ${Math.round(written / seconds)} articles/s\n`)
redis.disconnect()
process.exit(failed > 0 ? 1 : 0)
