// Runs our own varnishd in the foreground (-F) with a private work dir (-n), so it never touches another
// varnishd on this machine (Debian's system one listens on 6081/6082 and uses /var/lib/varnish).

import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { constants as fsc } from 'node:fs'
import { access, mkdir, readdir, readFile, stat, writeFile, chmod } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'

import { TesseraError } from '../../platform/errors.js'
import { startWatchdog } from '../../platform/watchdog.js'
import { VarnishCli } from '../../varnish-cli/varnish-cli.js'

export class VarnishdStartFailed extends TesseraError {
  readonly code = 'TESSERA_VARNISHD_START'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

export interface VarnishdListen {
  /** Socket name, visible in VCL as local.socket. */
  name: string
  host: string
  port: number
}

export interface StartVarnishdOptions {
  workDir: string
  listen: VarnishdListen[]
  adminHost: string
  adminPort: number
  secretFile: string
  vclFile: string
  vclPath: string[]
  storageMb: number
  params?: Record<string, string>
  log?: (line: string) => void
  /** How long to wait for the admin port and the listen ports; default 15000 ms. */
  readyTimeoutMs?: number
}

export interface RunningVarnishd {
  /** The manager's pid. */
  pid: number
  workDir: string
  /** The jail varnishd runs with: `unix` (drops to varnish/vcache) or `none`. */
  jail: 'unix' | 'none'
  args: string[]
  stop(): Promise<void>
  /** Resolves with the manager's exit code (null when it died from a signal). */
  exited: Promise<number | null>
  /**
   * The pid of the cache process, the manager's child `cache-main`, which serves every request. Looked up on
   * each call: the manager starts a new one if it dies.
   */
  workerPid(): Promise<number>
}

// ------------------------------------------------------------------------------------------------ jail

export interface JailChoice {
  jail: 'unix' | 'none'
  reason: string
}

/**
 * The jail, chosen deliberately.
 *
 * As root, varnishd's default `unix` jail runs the manager as `varnish` and the cache child as `vcache`; the
 * VCC compiler (as `varnish`) must then read the VCL file and its includes, and the manager must work inside
 * workDir. Those users get only the "other" permission bits on our files. A checkout under /root (0700) fails
 * with "Cannot read -f file ... (Permission denied)". So: as root, keep the privilege drop (the safer mode)
 * only when every directory from / down to the VCL file, each vcl_path dir and workDir is traversable by
 * others (o+x) and the VCL files are readable by others (o+r); otherwise run with `-j none` (everything as
 * root) and say why in one log line. Not root: `-j none`, since the unix jail needs root to switch users.
 */
export async function chooseJail(opts: { vclFile: string; vclPath: string[]; workDir: string }): Promise<JailChoice> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { jail: 'none', reason: 'not running as root, so varnishd cannot switch users' }
  }
  const problems: string[] = []
  const checkedDirs = new Set<string>()

  const checkTraversable = async (dir: string): Promise<void> => {
    // From the root down; a missing tail (workDir not created yet) is fine, varnishd creates it.
    const parts = path.resolve(dir).split(path.sep).filter(Boolean)
    let cur: string = path.sep
    for (const part of ['', ...parts]) {
      cur = part ? path.join(cur, part) : cur
      if (checkedDirs.has(cur)) continue
      checkedDirs.add(cur)
      let st
      try {
        st = await stat(cur)
      } catch {
        return
      }
      if (st.isDirectory() && (st.mode & 0o001) === 0) problems.push(`${cur} is not traversable by others (mode ${(st.mode & 0o777).toString(8)})`)
    }
  }
  const checkReadable = async (file: string): Promise<void> => {
    try {
      const st = await stat(file)
      if ((st.mode & 0o004) === 0) problems.push(`${file} is not readable by others (mode ${(st.mode & 0o777).toString(8)})`)
    } catch {
      // missing files are reported by startVarnishd / the VCL compiler
    }
  }
  /** VCL files in `dir` (recursively, bounded) must be readable: includes are looked up there. */
  const checkVclFilesIn = async (dir: string, depth: number, budget: { left: number }): Promise<void> => {
    let entries
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      if (budget.left-- <= 0) return
      const p = path.join(dir, e.name)
      if (e.isDirectory() && depth > 0 && e.name !== 'node_modules' && !e.name.startsWith('.')) {
        const st = await stat(p)
        if ((st.mode & 0o001) === 0) problems.push(`${p} is not traversable by others (mode ${(st.mode & 0o777).toString(8)})`)
        else await checkVclFilesIn(p, depth - 1, budget)
      } else if (e.isFile() && e.name.endsWith('.vcl')) {
        await checkReadable(p)
      }
    }
  }

  const vclFile = path.resolve(opts.vclFile)
  await checkTraversable(path.dirname(vclFile))
  await checkReadable(vclFile)
  await checkVclFilesIn(path.dirname(vclFile), 0, { left: 500 })
  for (const d of opts.vclPath) {
    await checkTraversable(path.resolve(d))
    await checkVclFilesIn(path.resolve(d), 3, { left: 500 })
  }
  await checkTraversable(path.resolve(opts.workDir))

  if (problems.length === 0) {
    return { jail: 'unix', reason: 'root, and the VCL and work dir are reachable by the varnish/vcache users' }
  }
  return { jail: 'none', reason: `running as root without the privilege drop (-j none): ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (+${problems.length - 3} more)` : ''}` }
}

// ------------------------------------------------------------------------------------------ processes

/** Direct and indirect children of `pid`, from /proc (Linux). */
async function descendantsOf(pid: number): Promise<number[]> {
  let names: string[]
  try {
    names = await readdir('/proc')
  } catch {
    return []
  }
  const parentOf = new Map<number, number>()
  await Promise.all(names.filter((n) => /^\d+$/.test(n)).map(async (n) => {
    try {
      const st = await readFile(`/proc/${n}/stat`, 'utf8')
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1])
      parentOf.set(Number(n), ppid)
    } catch {
      // the process went away meanwhile
    }
  }))
  const out: number[] = []
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) if (parent === p) { out.push(child); walk(child) }
  }
  walk(pid)
  return out
}

async function cmdlineOf(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ')
  } catch {
    return undefined
  }
}

async function commOf(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trimEnd()
  } catch {
    return undefined
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function tcpAccepts(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port })
    const done = (ok: boolean) => { s.destroy(); resolve(ok) }
    s.setTimeout(timeoutMs, () => done(false))
    s.once('connect', () => done(true))
    s.once('error', () => done(false))
  })
}

// ------------------------------------------------------------------------------------------- launcher

export async function startVarnishd(opts: StartVarnishdOptions): Promise<RunningVarnishd> {
  const log = opts.log ?? (() => {})
  const workDir = path.resolve(opts.workDir)
  const vclFile = path.resolve(opts.vclFile)
  const secretFile = path.resolve(opts.secretFile)
  const vclPath = opts.vclPath.map((p) => path.resolve(p))
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000

  if (opts.listen.length === 0) throw new VarnishdStartFailed('varnishd needs at least one listen address')
  try {
    await access(vclFile, fsc.R_OK)
  } catch {
    throw new VarnishdStartFailed(`VCL file ${vclFile} does not exist or cannot be read`)
  }
  let secret: Buffer
  try {
    secret = await readFile(secretFile)
  } catch {
    throw new VarnishdStartFailed(`secret file ${secretFile} cannot be read; create it with writeSecretFile()`)
  }
  await mkdir(path.dirname(workDir), { recursive: true })

  const { jail, reason } = await chooseJail({ vclFile, vclPath, workDir })
  if (jail === 'none' && typeof process.getuid === 'function' && process.getuid() === 0) log(`varnishd: ${reason}`)

  const args = ['-F', '-n', workDir]
  for (const l of opts.listen) {
    const host = l.host.includes(':') ? `[${l.host}]` : l.host
    args.push('-a', `${l.name}=${host}:${l.port},HTTP`)
  }
  args.push('-T', `${opts.adminHost.includes(':') ? `[${opts.adminHost}]` : opts.adminHost}:${opts.adminPort}`)
  args.push('-S', secretFile, '-s', `malloc,${Math.max(1, Math.floor(opts.storageMb))}m`, '-f', vclFile)
  if (jail === 'none') args.push('-j', 'none')
  if (vclPath.length) args.push('-p', `vcl_path=${vclPath.join(':')}`)
  for (const [k, v] of Object.entries(opts.params ?? {})) args.push('-p', `${k}=${v}`)

  const tail: string[] = []
  const onLine = (line: string) => {
    tail.push(line)
    if (tail.length > 40) tail.shift()
    log(line)
  }
  const child: ChildProcess = spawn('varnishd', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = ''
    stream.setEncoding('utf8')
    stream.on('data', (d: string) => {
      const lines = (partial + d).split('\n')
      partial = lines.pop() ?? ''
      for (const l of lines) if (l.trim()) onLine(l)
    })
    stream.on('end', () => { if (partial.trim()) onLine(partial); partial = '' })
  }

  let exitCode: number | null | undefined
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => { exitCode = code; resolve(code) })
  })
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))

  const pid = child.pid
  if (pid === undefined) {
    const err = await spawnError
    throw new VarnishdStartFailed(`could not run varnishd (${err.message}); is the varnish package installed?`, { cause: err })
  }
  const children = new Set<number>()
  const watchdog = startWatchdog(pid)
  void exited.then(() => watchdog.disarm())

  const killAll = async (): Promise<void> => {
    // Remember the cache child (and any VCC compiler) before the manager goes: if the manager had to be
    // SIGKILLed its children would be orphaned.
    for (const c of await descendantsOf(pid)) children.add(c)
    if (exitCode === undefined) {
      try { child.kill('SIGTERM') } catch { /* gone */ }
      const t = setTimeout(() => { try { child.kill('SIGKILL') } catch { /* gone */ } }, 5000)
      await exited
      clearTimeout(t)
    }
    // The manager stops its child before exiting; make sure, but only kill pids that are still ours.
    const deadline = Date.now() + 5000
    for (const c of children) {
      while (isAlive(c) && (await cmdlineOf(c))?.includes(workDir)) {
        if (Date.now() > deadline) { try { process.kill(c, 'SIGKILL') } catch { /* gone */ } }
        await sleep(50)
        if (Date.now() > deadline + 2000) break
      }
    }
    watchdog.disarm()
  }

  // Ready: the admin port answers ping AND every HTTP listen port accepts a TCP connection.
  const started = Date.now()
  let lastProblem = 'not started yet'
  for (;;) {
    if (exitCode !== undefined) {
      watchdog.disarm()
      throw new VarnishdStartFailed(`varnishd exited with ${exitCode === null ? 'a signal' : `code ${exitCode}`} before it was ready:\n  ${tail.slice(-15).join('\n  ')}`)
    }
    if (Date.now() - started > readyTimeoutMs) {
      await killAll()
      throw new VarnishdStartFailed(`varnishd was not ready within ${readyTimeoutMs} ms (${lastProblem}); it was stopped. Last output:\n  ${tail.slice(-15).join('\n  ')}`)
    }
    try {
      const cli = await VarnishCli.connect({ host: opts.adminHost, port: opts.adminPort, secret, timeoutMs: 1000 })
      try {
        await cli.ping()
        const state = await cli.status()
        if (state !== 'running') throw new Error(`cache child is ${state}`)
      } finally {
        await cli.close()
      }
      const closed = []
      for (const l of opts.listen) if (!(await tcpAccepts(l.host, l.port))) closed.push(`${l.name} ${l.host}:${l.port}`)
      if (closed.length === 0) break
      lastProblem = `listen port(s) not accepting: ${closed.join(', ')}`
    } catch (err) {
      lastProblem = `admin port: ${(err as Error).message}`
    }
    await sleep(100)
  }
  for (const c of await descendantsOf(pid)) children.add(c)

  let stopping: Promise<void> | undefined
  return {
    pid,
    workDir,
    jail,
    args,
    exited,
    stop: () => (stopping ??= killAll()),
    async workerPid() {
      for (const c of await descendantsOf(pid)) if ((await commOf(c)) === 'cache-main') return c
      throw new Error(`varnishd ${workDir} (manager pid ${pid}) has no cache-main process`)
    },
  }
}

/**
 * Creates a random secret for -S if `file` does not exist (mode 0600, owner root when we are root).
 * That is enough: varnishd's manager opens -S with root privileges (at startup and on every `auth`, also
 * under the unix jail), so the varnish user never needs to read it — verified with 7.1.1.
 */
export async function writeSecretFile(file: string): Promise<void> {
  try {
    await access(file)
    return
  } catch {
    // create it
  }
  await mkdir(path.dirname(path.resolve(file)), { recursive: true })
  try {
    await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return
  }
  await chmod(file, 0o600)
}
