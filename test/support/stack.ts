// The real stack for an integration test: its own redis-server, services and varnishd(s) on free ports,
// state in a temporary dir, logs in a file (printed when the test fails), all stopped in teardown.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig } from '../../fragments/kit/config.js'
import { type Stack, startStack } from '../../scripts/stack/stack.js'
import { freePorts } from './ports.js'

interface Teardown {
  teardown(fn: () => unknown): void
  passing(): boolean
  comment(...args: unknown[]): void
}

export async function startTestStack(t: Teardown, options: { edges?: number; seed?: boolean } = {}): Promise<Stack> {
  const edges = options.edges ?? 1
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-test-'))
  const logFile = path.join(stateDir, 'stack.log')
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
      seed: options.seed,
      extraEdges: Array.from({ length: edges - 1 }, (_, i) => ({ port: edgePorts[(i + 1) * 2], adminPort: edgePorts[(i + 1) * 2 + 1] })),
    })
  } catch (err) {
    process.stderr.write(readFileSync(logFile, 'utf8'))
    rmSync(stateDir, { recursive: true, force: true })
    throw err
  }
  t.teardown(async () => {
    await stack.stop()
    if (!t.passing()) t.comment(`stack log:\n${readFileSync(logFile, 'utf8').split('\n').slice(-80).join('\n')}`)
    rmSync(stateDir, { recursive: true, force: true })
  })
  return stack
}
