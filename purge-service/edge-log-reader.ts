// Reading a local edge node through its work dir (-n): its stats records with varnishlog (a long-running child,
// restarted if it stops), and its counters with varnishstat (read when asked).
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import type { FastifyBaseLogger } from 'fastify'
import { startWatchdog } from '../fragments/kit/watchdog.js'
import { parseRecord, type TrafficRecord } from './edge-stats.js'

const exec = promisify(execFile)
const MIN_RESTART_MS = 1000
const MAX_RESTART_MS = 30_000

/**
 * `varnishlog -n DIR -g raw -i VCL_Log`: the tessera-stats record of every delivery (ESI sub-requests included)
 * and every origin fetch. `-t off` waits for a node that is not up yet, and follows it across restarts of its
 * cache child.
 */
export class EdgeLogReader {
  private child: ChildProcess | undefined
  private watchdog: { disarm(): void } | undefined
  private restartTimer: NodeJS.Timeout | undefined
  private restartMs = MIN_RESTART_MS
  private stopped = false
  /** Whether varnishlog is running now. */
  running = false

  constructor(
    readonly workDir: string,
    private readonly onRecord: (record: TrafficRecord) => void,
    private readonly log: Pick<FastifyBaseLogger, 'warn'>,
  ) {}

  start(): void {
    if (this.stopped || this.child) return
    // Raw records, one tag: no transaction grouping, so reading the log costs the edge next to nothing.
    const args = ['-n', this.workDir, '-t', 'off', '-g', 'raw', '-i', 'VCL_Log']
    const child = spawn('varnishlog', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    child.once('spawn', () => {
      this.running = true
      if (child.pid !== undefined) this.watchdog = startWatchdog(child.pid)
    })
    child.once('error', (err) => this.log.warn({ err, code: 'TESSERA_STATS_READER', workDir: this.workDir }, 'cannot run varnishlog; edge traffic stats are unavailable for this node (is the varnish package installed?)'))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.restartMs = MIN_RESTART_MS
      const record = parseRecord(line)
      if (record) this.onRecord(record)
    })
    createInterface({ input: child.stderr! }).on('line', (line) => this.log.warn({ workDir: this.workDir }, `varnishlog: ${line}`))
    child.once('close', (code, signal) => {
      this.running = false
      this.child = undefined
      this.watchdog?.disarm()
      if (this.stopped) return
      this.log.warn({ code: 'TESSERA_STATS_READER', workDir: this.workDir, exit: code ?? signal, retryMs: this.restartMs }, 'varnishlog stopped; restarting it')
      this.restartTimer = setTimeout(() => this.start(), this.restartMs)
      this.restartMs = Math.min(this.restartMs * 2, MAX_RESTART_MS)
    })
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.restartTimer)
    const child = this.child
    if (!child) return
    const closed = new Promise((resolve) => child.once('close', resolve))
    child.kill('SIGTERM')
    await closed
  }
}

/** What varnishstat says about a node: MAIN counters (a chosen set) and origin requests per backend. */
export interface EdgeCounters {
  main: Record<string, number>
  /** Per backend (tessera_<name> in the VCL), summed over loaded VCLs: requests sent, failed connections. */
  backends: Record<string, { req: number; fail: number }>
}

const MAIN = [
  'client_req', 'cache_hit', 'cache_hit_grace', 'cache_miss', 'cache_hitmiss', 'esi_req', 'backend_req', 'fetch_failed',
  'n_object', 'n_expired', 'n_lru_nuked', 'n_obj_purged', 'bans', 's_resp_bodybytes',
]

export async function readCounters(workDir: string): Promise<EdgeCounters> {
  const { stdout } = await exec('varnishstat', ['-n', workDir, '-j', '-f', 'MAIN.*', '-f', 'VBE.*'], { timeout: 5000 })
  const parsed = JSON.parse(stdout) as { counters?: Record<string, { value?: number }> }
  const all = parsed.counters ?? (parsed as Record<string, { value?: number }>)
  const main: Record<string, number> = {}
  for (const name of MAIN) main[name] = all[`MAIN.${name}`]?.value ?? 0
  const backends: EdgeCounters['backends'] = {}
  for (const [name, counter] of Object.entries(all)) {
    const m = /^VBE\.[^.]+\.tessera_([a-z]+)\.(req|fail)$/.exec(name)
    if (!m) continue
    const b = (backends[m[1]!] ??= { req: 0, fail: 0 })
    b[m[2] as 'req' | 'fail'] += counter.value ?? 0
  }
  return { main, backends }
}
