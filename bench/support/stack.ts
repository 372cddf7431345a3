// The real stack for a benchmark: its own redis-server, services and varnishd(s) on free ports, state in a
// temporary dir, logs in a file there (its tail is printed when the benchmark fails), warn-level logging.
import { startEphemeralStack } from '../../scripts/stack/ephemeral.js'
import type { Stack } from '../../scripts/stack/stack.js'

export interface BenchStack extends Stack {
  logFile: string
  /** The last lines of the stack's log (services, varnishd, redis). */
  logTail(lines?: number): string
}

export async function startBenchStack(options: { edges?: number; env?: Record<string, string> } = {}): Promise<BenchStack> {
  const ephemeral = await startEphemeralStack({ name: 'bench', ...options })
  const { stack } = ephemeral
  // Ctrl-C during a run: stop our varnishd and services rather than leave them listening.
  const onSignal = () => void ephemeral.dispose().finally(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return {
    ...stack,
    logFile: ephemeral.logFile,
    logTail: ephemeral.logTail,
    async stop() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      await ephemeral.dispose()
    },
  }
}

/** Runs `fn` against a fresh stack and always stops it; on failure, prints the tail of the stack's log. */
export async function withBenchStack<T>(options: { edges?: number; env?: Record<string, string> }, fn: (stack: BenchStack) => Promise<T>): Promise<T> {
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
