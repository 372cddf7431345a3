// The real stack for a benchmark: its own redis-server, services and varnishd(s) on free ports, state in a
// temporary dir, logs in a file there (its tail is printed when the benchmark fails), warn-level logging.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../fragments/kit/config.js'
import { type Stack, startStack } from '../../scripts/stack/stack.js'
import { freePorts } from '../../test/support/ports.js'

export interface BenchStack extends Stack {
  logFile: string
  /** The last lines of the stack's log (services, varnishd, redis). */
  logTail(lines?: number): string
}

export async function startBenchStack(options: { edges?: number; env?: Record<string, string> } = {}): Promise<BenchStack> {
  const edges = options.edges ?? 1
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'))
  const logFile = path.join(stateDir, 'stack.log')
  const logTail = (lines = 60) => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n') : '')
  const [redis, layout, nav, sidebar, article, sections, content, purge, ...edgePorts] = await freePorts(8 + edges * 2)
  const config = loadConfig({
    TESSERA_STATE_DIR: stateDir,
    TESSERA_REDIS_PORT: String(redis),
    TESSERA_LAYOUT_PORT: String(layout),
    TESSERA_NAV_PORT: String(nav),
    TESSERA_SIDEBAR_PORT: String(sidebar),
    TESSERA_ARTICLE_PORT: String(article),
    TESSERA_SECTIONS_PORT: String(sections),
    TESSERA_CONTENT_PORT: String(content),
    TESSERA_PURGE_PORT: String(purge),
    TESSERA_EDGE_PORT: String(edgePorts[0]),
    TESSERA_EDGE_ADMIN_PORT: String(edgePorts[1]),
    TESSERA_EDGE_NODES: Array.from({ length: edges }, (_, i) => `http://127.0.0.1:${edgePorts[i * 2]}`).join(','),
    TESSERA_EDGE_STORAGE_MB: '64',
    TESSERA_LOG_LEVEL: 'warn',
  })
  const log = (source: string, line: string) => appendFileSync(logFile, `${source.padEnd(8)} ${line}\n`)
  let stack: Stack
  try {
    stack = await startStack({
      config,
      log,
      extraEnv: options.env,
      extraEdges: Array.from({ length: edges - 1 }, (_, i) => ({ port: edgePorts[(i + 1) * 2], adminPort: edgePorts[(i + 1) * 2 + 1] })),
    })
  } catch (err) {
    process.stderr.write(logTail())
    rmSync(stateDir, { recursive: true, force: true })
    throw err
  }
  // Ctrl-C during a run: stop our varnishd and services rather than leave them listening.
  const onSignal = () => void stack.stop().finally(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return {
    ...stack,
    logFile,
    logTail,
    async stop() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      await stack.stop()
      rmSync(stateDir, { recursive: true, force: true })
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
