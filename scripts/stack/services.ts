// Our services as OS processes: spawn one, wait until /health answers, stop it with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { startWatchdog } from '../../platform/watchdog.js'
import { projectRoot } from '../../platform/paths.js'

export const SERVICE_SCRIPTS = {
  layout: 'layouts/server.js',
  nav: 'fragments/nav/server.js',
  sidebar: 'fragments/sidebar/server.js',
  article: 'fragments/article/server.js',
  sections: 'fragments/sections/server.js',
  content: 'content/api/server.js',
  purge: 'purge-service/server.js',
} as const

export type ServiceName = keyof typeof SERVICE_SCRIPTS

/**
 * A service starts in about a second; on a loaded 2-core machine it can take many (a test stack's services
 * missed 30 s twice at load average 17-22 while a benchmark ran).
 */
const HEALTHY_WITHIN_MS = 60_000

export interface RunningService {
  name: string
  port: number
  process: ChildProcess
  stop(): Promise<void>
}

export async function startService(options: {
  name: string
  script: string // relative to dist/
  port: number
  host: string
  env: Record<string, string>
  log: (line: string) => void
}): Promise<RunningService> {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', options.script), '--port', String(options.port)], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) options.log(line)
  }
  child.stdout?.on('data', forward)
  child.stderr?.on('data', forward)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  // If the launcher dies without stopping it (a crash, a killed test), the service goes too.
  if (child.pid !== undefined) {
    const watchdog = startWatchdog(child.pid)
    void exited.then(() => watchdog.disarm())
  }

  const deadline = Date.now() + HEALTHY_WITHIN_MS
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with code ${child.exitCode} before it was healthy; see its log above`)
    try {
      const res = await fetch(`http://${options.host}:${options.port}/health`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${options.name} did not answer /health on port ${options.port} within ${HEALTHY_WITHIN_MS / 1000} s`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }

  return {
    name: options.name,
    port: options.port,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}
