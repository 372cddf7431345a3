// Runs our own redis-server in the foreground on a port we choose, with its data in `dir`; or, for
// TESSERA_REDIS_HA, a primary, its replicas and the redis-sentinel processes that watch them.

import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'

import { TesseraError } from '../../platform/errors.js'
import { startWatchdog } from '../../platform/watchdog.js'

export class RedisServerStartFailed extends TesseraError {
  readonly code = 'TESSERA_REDIS_START'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

export interface StartRedisOptions {
  dir: string
  host: string
  port: number
  appendonly: boolean
  log?: (l: string) => void
  /** Default 10000 ms. */
  readyTimeoutMs?: number
  /** More redis-server options, as `--name value` pairs (a replica's --replicaof). */
  extraArgs?: string[]
}

export interface RunningRedis {
  url: string
  pid: number
  stop(): Promise<void>
  /** Resolves with the exit code (null when it died from a signal). */
  exited: Promise<number | null>
}

/** Sends PING over a raw socket; true on "+PONG". */
export function redisPing(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port })
    let got = ''
    const done = (ok: boolean) => { s.destroy(); resolve(ok) }
    s.setTimeout(timeoutMs, () => done(false))
    s.once('error', () => done(false))
    s.once('connect', () => s.write('PING\r\n'))
    s.on('data', (d) => {
      got += d.toString('latin1')
      if (got.includes('\r\n')) done(got.startsWith('+PONG'))
    })
  })
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export async function startRedisServer(opts: StartRedisOptions): Promise<RunningRedis> {
  const dir = path.resolve(opts.dir)
  await mkdir(dir, { recursive: true })
  const args = [
    '--port', String(opts.port),
    '--bind', opts.host,
    '--dir', dir,
    '--appendonly', opts.appendonly ? 'yes' : 'no',
    '--save', '',
    '--daemonize', 'no',
    ...(opts.extraArgs ?? []),
  ]
  return startRedisProcess('redis-server', args, opts)
}

/**
 * Runs redis-sentinel (Debian's package; the same program as `redis-server --sentinel`) with `configLines`
 * written to its config file in `dir` (it rewrites that file with what it learns).
 */
export async function startRedisSentinel(opts: Omit<StartRedisOptions, 'appendonly' | 'extraArgs'> & { configLines: string[] }): Promise<RunningRedis> {
  const dir = path.resolve(opts.dir)
  await mkdir(dir, { recursive: true })
  const configFile = path.join(dir, 'sentinel.conf')
  await writeFile(configFile, [`port ${opts.port}`, `bind ${opts.host}`, `dir ${dir}`, 'daemonize no', ...opts.configLines, ''].join('\n'))
  return startRedisProcess('redis-sentinel', [configFile], opts)
}

async function startRedisProcess(command: string, args: string[], opts: Pick<StartRedisOptions, 'host' | 'port' | 'log' | 'readyTimeoutMs'>): Promise<RunningRedis> {
  const log = opts.log ?? (() => {})
  if (await redisPing(opts.host, opts.port)) {
    throw new RedisServerStartFailed(`something already answers PING on ${opts.host}:${opts.port}; pick another port`)
  }
  const tail: string[] = []
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  for (const stream of [child.stdout, child.stderr]) {
    let partial = ''
    stream.setEncoding('utf8')
    stream.on('data', (d: string) => {
      const lines = (partial + d).split('\n')
      partial = lines.pop() ?? ''
      for (const l of lines) {
        if (!l.trim()) continue
        tail.push(l)
        if (tail.length > 30) tail.shift()
        log(l)
      }
    })
  }
  let exitCode: number | null | undefined
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { exitCode = code; resolve(code) }))
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))
  const pid = child.pid
  if (pid === undefined) {
    const err = await spawnError
    throw new RedisServerStartFailed(`could not run ${command} (${err.message}); is it installed? (npm start installs Debian's redis-server and redis-sentinel)`, { cause: err })
  }
  const watchdog = startWatchdog(pid)
  void exited.then(() => watchdog.disarm())

  const stopNow = async (): Promise<void> => {
    if (exitCode === undefined) {
      // SIGTERM is redis' graceful SHUTDOWN (fsyncs the AOF when appendonly is on).
      try { child.kill('SIGTERM') } catch { /* gone */ }
      const t = setTimeout(() => { try { child.kill('SIGKILL') } catch { /* gone */ } }, 5000)
      await exited
      clearTimeout(t)
    }
    watchdog.disarm()
  }

  const started = Date.now()
  const timeout = opts.readyTimeoutMs ?? 10_000
  while (!(await redisPing(opts.host, opts.port))) {
    if (exitCode !== undefined) {
      watchdog.disarm()
      throw new RedisServerStartFailed(`${command} exited with code ${exitCode} before answering PING:\n  ${tail.slice(-10).join('\n  ')}`)
    }
    if (Date.now() - started > timeout) {
      await stopNow()
      throw new RedisServerStartFailed(`${command} did not answer PING on ${opts.host}:${opts.port} within ${timeout} ms; it was stopped. Last output:\n  ${tail.slice(-10).join('\n  ')}`)
    }
    await sleep(50)
  }

  let stopping: Promise<void> | undefined
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host
  return { url: `redis://${host}:${opts.port}`, pid, exited, stop: () => (stopping ??= stopNow()) }
}
