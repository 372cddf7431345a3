// The real stack for a benchmark: its own redis-server, services and varnishd(s) on free ports, state in a
// temporary dir, logs in a file there (its tail is printed when the benchmark fails), warn-level logging.
import { ContentRepository } from '../../content/repository.js'
import { seedDemoContent } from '../../content/seed.js'
import { connectRedis } from '../../platform/redis.js'
import { startEphemeralStack } from '../../scripts/stack/ephemeral.js'
import type { Stack } from '../../scripts/stack/stack.js'

export interface BenchStack extends Stack {
  logFile: string
  /** The last lines of the stack's log (services, varnishd, redis). */
  logTail(lines?: number): string
}

export interface BenchStackOptions {
  edges?: number
  env?: Record<string, string>
  /** The assembled-page tier (varnish/tier.vcl, TESSERA_PAGE_TIER); default on, as configured by default. */
  pageTier?: boolean
  /** The page tier's late-bound includes (TESSERA_PAGE_TIER_LATE_INCLUDES), e.g. ['/fragments/nav']; default none. */
  lateIncludes?: string[]
  /** Each edge's malloc storage in MB (TESSERA_EDGE_STORAGE_MB); default 64. */
  storageMb?: number
  /** The shield tier (varnish/shield.vcl, TESSERA_SHIELD); default off. */
  shield?: boolean
  /** TESSERA_REDIS_HA: a primary, two replicas and three sentinels instead of one redis-server; default off. */
  redisHa?: boolean
  /** A legacy CMS behind the edge (issue 16): the simulated one, a routes file, a legacy origin; as for the tests. */
  legacy?: { demo?: boolean; routesFile?: string; origin?: string }
  /**
   * Seed the demo content as of this instant instead of the stack's start: the seed's dates are relative to
   * it, so stacks seeded with the same instant serve byte-identical pages.
   */
  seedAt?: Date
  /** A topology file (TESSERA_TOPOLOGY) instead of the generated single-machine one. */
  topologyFile?: string
}

export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const { seedAt, ...stackOptions } = options
  const ephemeral = await startEphemeralStack({ name: 'bench', ...stackOptions, seed: seedAt === undefined })
  const { stack } = ephemeral
  // Ctrl-C during a run: stop our varnishd and services rather than leave them listening.
  const onSignal = () => void ephemeral.dispose().finally(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const benchStack: BenchStack = {
    ...stack,
    logFile: ephemeral.logFile,
    logTail: ephemeral.logTail,
    async stop() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      await ephemeral.dispose()
    },
  }
  if (seedAt) {
    // Through the repository, as the launcher seeds: every write is a change event the purge service takes.
    const redis = connectRedis(stack.redisUrl, 'bench-seed')
    try {
      await seedDemoContent(new ContentRepository(redis), { now: seedAt })
    } catch (err) {
      await benchStack.stop()
      throw err
    } finally {
      redis.disconnect()
    }
  }
  return benchStack
}

/** Runs `fn` against a fresh stack and always stops it; on failure, prints the tail of the stack's log. */
export async function withBenchStack<T>(options: BenchStackOptions, fn: (stack: BenchStack) => Promise<T>): Promise<T> {
  const stack = await startBenchStack(options)
  try {
    return await fn(stack)
  } catch (err) {
    process.stderr.write(`stack log (last lines):\n${stack.logTail()}\n`)
    throw err
  } finally {
    await stack.stop()
  }
}
