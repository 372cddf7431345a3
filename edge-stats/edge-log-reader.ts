// Reading a local edge node through its work dir (-n): its stats records with varnishlog (a long-running child,
// restarted if it stops), and its counters with varnishstat (read when asked).
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { FastifyBaseLogger } from 'fastify'
import { startWatchdog } from '../platform/watchdog.js'
import { parseRecordAfterTag, type TrafficRecord } from './edge-stats.js'
import { readVarnishstat } from './varnishstat.js'

const MIN_RESTART_MS = 1000
const MAX_RESTART_MS = 30_000
/** Distinct delivery lines are few (group x name x what x status); past this many, the rest are parsed each time. */
const MAX_PARSED_DELIVERIES = 1000
/** "<vxid> VCL_Log ": parseRecord's prefix, matched in place (sticky) so no line is copied to find its side. */
const VXID_AND_TAG = /\s*\d+\s+VCL_Log\s+/y

/** Records with how many identical ones came at once (a fetch comes alone, with its own time). */
export type RecordSink = (record: TrafficRecord, count: number) => void

/**
 * Turns varnishlog's output, chunk by chunk, into records. At the edge's rate nearly every line is a delivery
 * that differs from many others only by its vxid: a chunk's delivery lines are counted by what follows
 * "VCL_Log", and each distinct one is parsed once (and remembered) and handed on once with its count. A line
 * is handled when its newline arrives; a line cut off by the end of the output is not a record.
 */
export class RecordBatcher {
  private partialLine = ''
  private readonly parsedDeliveries = new Map<string, TrafficRecord | undefined>()

  constructor(private readonly onRecords: RecordSink) {}

  push(chunk: string): void {
    const firstEnd = chunk.indexOf('\n')
    if (firstEnd === -1) {
      this.partialLine += chunk
      return
    }
    const deliveries = new Map<string, { count: number }>()
    // The line the last chunk cut, completed; then this chunk's lines in place (joining would copy the chunk).
    const cutLine = this.partialLine + chunk.slice(0, firstEnd)
    this.readLine(cutLine, 0, cutLine.length, deliveries)
    let lineStart = firstEnd + 1
    for (let lineEnd = chunk.indexOf('\n', lineStart); lineEnd !== -1; lineEnd = chunk.indexOf('\n', lineStart)) {
      this.readLine(chunk, lineStart, lineEnd, deliveries)
      lineStart = lineEnd + 1
    }
    this.partialLine = chunk.slice(lineStart)
    for (const [sideAndRecord, { count }] of deliveries) {
      const record = this.parseDelivery(sideAndRecord)
      if (record) this.onRecords(record, count)
    }
  }

  /** Counts a delivery line in `deliveries`; hands on a fetch line's record at once. */
  private readLine(text: string, lineStart: number, lineEnd: number, deliveries: Map<string, { count: number }>): void {
    VXID_AND_TAG.lastIndex = lineStart
    // \s also matches newlines: a match that ends past this line is not this line's prefix.
    if (!VXID_AND_TAG.test(text) || VXID_AND_TAG.lastIndex >= lineEnd) return
    const sideAndRecord = text.slice(VXID_AND_TAG.lastIndex, lineEnd)
    if (sideAndRecord[0] === 'c') {
      // One map look-up per line: it is most of a line's cost.
      const seen = deliveries.get(sideAndRecord)
      if (seen) seen.count++
      else deliveries.set(sideAndRecord, { count: 1 })
    } else {
      const record = parseRecordAfterTag(sideAndRecord)
      if (record) this.onRecords(record, 1)
    }
  }

  private parseDelivery(sideAndRecord: string): TrafficRecord | undefined {
    if (this.parsedDeliveries.has(sideAndRecord)) return this.parsedDeliveries.get(sideAndRecord)
    if (this.parsedDeliveries.size >= MAX_PARSED_DELIVERIES) return parseRecordAfterTag(sideAndRecord)
    // A copy: V8 keeps a slice's whole chunk (up to 64 KiB) alive for as long as the slice is remembered.
    const copy = Buffer.from(sideAndRecord).toString()
    const record = parseRecordAfterTag(copy)
    this.parsedDeliveries.set(copy, record)
    return record
  }
}

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
    private readonly onRecords: RecordSink,
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
    // Not readline: a line event, and a parse, per delivery cost the edge's CPU a tenth of its rate.
    const batcher = new RecordBatcher(this.onRecords)
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.restartMs = MIN_RESTART_MS
      batcher.push(chunk)
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
  /** Per backend (tessera_<name> in the VCL; a shield is shield_<name>), summed over loaded VCLs: requests sent, failed connections. */
  backends: Record<string, { req: number; fail: number }>
}

const MAIN = [
  'client_req', 'cache_hit', 'cache_hit_grace', 'cache_miss', 'cache_hitmiss', 'esi_req', 'backend_req', 'fetch_failed',
  'n_object', 'n_expired', 'n_lru_nuked', 'n_obj_purged', 'bans', 's_resp_bodybytes',
]

export async function readCounters(workDir: string): Promise<EdgeCounters> {
  const all = await readVarnishstat(workDir, ['MAIN.*', 'VBE.*'], 5000)
  const main: Record<string, number> = {}
  for (const name of MAIN) main[name] = all[`MAIN.${name}`] ?? 0
  const backends: EdgeCounters['backends'] = {}
  for (const [name, counter] of Object.entries(all)) {
    const m = /^VBE\.[^.]+\.tessera_([a-z0-9_]+)\.(req|fail)$/.exec(name)
    if (!m) continue
    const b = (backends[m[1]!] ??= { req: 0, fail: 0 })
    b[m[2] as 'req' | 'fail'] += counter
  }
  return { main, backends }
}
