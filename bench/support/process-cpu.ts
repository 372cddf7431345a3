// CPU time a process has used, from /proc/<pid>/stat (Linux). page-tier reads varnishd's around each wrk run:
// CPU per request moves less with the machine's outside load than requests/s does.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { RunningVarnishd } from '../../scripts/stack/varnishd.js'

export interface ProcStat {
  pid: number
  /** The process's name (comm): up to 15 bytes, spaces and parentheses included. */
  comm: string
  /** utime + stime: CPU time in user and kernel mode over all the process's threads, in clock ticks. */
  cpuTicks: number
}

/** Clock ticks per second, the unit of the times in /proc/<pid>/stat; fixed for the running kernel. */
const TICKS_PER_SEC = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }))

/** One /proc/<pid>/stat line (proc(5)): `pid (comm) state ... utime stime ...`. */
export function parseProcStat(line: string): ProcStat {
  const open = line.indexOf(' (')
  // comm may itself hold ") ", so it ends at the last ')'.
  const close = line.lastIndexOf(')')
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(line)}`)
  // The fields after comm start at field 3 (state); utime and stime are fields 14 and 15.
  const after = line.slice(close + 2).split(' ')
  const [pid, utime, stime] = [line.slice(0, open), after[11], after[12]].map(Number)
  if (![pid, utime, stime].every(Number.isInteger)) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(line)}`)
  return { pid, comm: line.slice(open + 2, close), cpuTicks: utime + stime }
}

/** The CPU seconds (user + system) process `pid` has used so far; throws if it is gone. */
export function cpuSecondsOf(pid: number | 'self'): number {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).cpuTicks / TICKS_PER_SEC
}

/**
 * A clock of the CPU seconds varnishd's cache process (the worker that serves every request) has used. It
 * reads the worker found now: if the manager restarts a crashed worker, the clock throws rather than count
 * a fresh process.
 */
export async function varnishdWorkerCpuClock(varnishd: RunningVarnishd): Promise<() => number> {
  const pid = await varnishd.workerPid()
  return () => cpuSecondsOf(pid)
}

/** The resident set (VmRSS) of process `pid`, in bytes, from /proc/<pid>/status. */
export function rssBytesOf(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  if (kb === undefined) throw new Error(`/proc/${pid}/status has no VmRSS line`)
  return Number(kb) * 1024
}
