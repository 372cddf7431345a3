// Runs wrk (one thread, N connections, S seconds) and reads requests/s and the latency distribution.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)

export interface WrkOptions {
  url: string
  connections: number
  seconds: number
  headers?: Record<string, string>
}

export interface WrkResult {
  requestsPerSec: number
  requests: number
  latencyMs: { p50: number; p90: number; p99: number }
  /** Non-2xx/3xx responses plus socket errors (connect, read, write, timeout). */
  errors: number
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency']
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`)
  args.push(options.url)
  const { stdout } = await exec('wrk', args, { timeout: (options.seconds + 30) * 1000 })
  return parseWrk(stdout)
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }

export function parseWrk(output: string): WrkResult {
  const latency = (p: number): number => {
    const m = new RegExp(`^\\s*${p}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output)
    if (!m) throw new Error(`wrk output has no ${p}% latency line (was --latency given?):\n${output}`)
    return Number(m[1]) * UNIT_MS[m[2]]
  }
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output)
  const total = /^\s*(\d+) requests in /m.exec(output)
  if (!rps || !total) throw new Error(`wrk output has no Requests/sec line:\n${output}`)
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0
  return {
    requestsPerSec: Number(rps[1]),
    requests: Number(total[1]),
    latencyMs: { p50: latency(50), p90: latency(90), p99: latency(99) },
    errors: non2xx + socketErrors,
  }
}
