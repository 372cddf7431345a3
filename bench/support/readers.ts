// Reader loads. runReaders: N workers, each fetching the paths it is given one after another (a closed loop:
// a slow edge slows its readers down, so it measures throughput, and at saturation its latency is the queue).
// runPacedReaders: requests sent on a fixed schedule whatever the edge does (an open loop: how a site's readers
// arrive), each request's latency counted from the moment it was due, so a late send counts as waiting.
// Both: latency of every request, status errors, and the edge's X-Tessera-Cache verdicts.
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'

export interface ReaderOptions {
  base: string
  workers: number
  seconds: number
  /** Hard cap on requests (all workers together), so a very fast edge cannot run away. */
  maxRequests: number
  /** The path worker `w` fetches next. */
  next(worker: number): string
  headers?: Record<string, string>
  /** Stops early when this resolves (besides the time limit). */
  stop?: Promise<unknown>
}

export interface ReaderResult {
  requests: number
  errors: number
  seconds: number
  latenciesMs: number[]
  /** When each request of latenciesMs was sent (ms after the run started), and each error. */
  sentAtMs: number[]
  errorsAtMs: number[]
  /** X-Tessera-Cache of the top-level response (the page shell), when the debug token was sent. */
  cache: Record<string, number>
}

export async function runReaders(options: ReaderOptions): Promise<ReaderResult> {
  const pool = new Pool(options.base, { connections: options.workers, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const started = performance.now()
  const deadline = started + options.seconds * 1000
  let stopped = false
  void options.stop?.then(() => (stopped = true))
  const result: ReaderResult = { requests: 0, errors: 0, seconds: 0, latenciesMs: [], sentAtMs: [], errorsAtMs: [], cache: {} }
  const worker = async (w: number) => {
    while (!stopped && performance.now() < deadline && result.requests < options.maxRequests) {
      result.requests++
      const path = options.next(w)
      const t0 = performance.now()
      try {
        const res = await pool.request({ method: 'GET', path, headers: options.headers })
        await res.body.arrayBuffer()
        result.latenciesMs.push(performance.now() - t0)
        result.sentAtMs.push(t0 - started)
        if (res.statusCode >= 400) {
          result.errors++
          result.errorsAtMs.push(t0 - started)
        }
        const verdict = res.headers['x-tessera-cache']
        if (typeof verdict === 'string') result.cache[verdict] = (result.cache[verdict] ?? 0) + 1
      } catch {
        result.latenciesMs.push(performance.now() - t0)
        result.sentAtMs.push(t0 - started)
        result.errors++
        result.errorsAtMs.push(t0 - started)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)))
  } finally {
    await pool.close()
  }
  result.seconds = (performance.now() - started) / 1000
  return result
}

export interface PacedReaderOptions {
  base: string
  /** Requests per second, sent evenly spaced. */
  rate: number
  seconds: number
  /** Connections the requests may use at once (more are queued by the client, and that wait counts). */
  connections: number
  next(): string
  headers?: Record<string, string>
}

/** A fixed arrival rate for `seconds`: request i is due at i / rate, and its latency runs from then. */
export async function runPacedReaders(options: PacedReaderOptions): Promise<ReaderResult> {
  const pool = new Pool(options.base, { connections: options.connections, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 })
  const result: ReaderResult = { requests: 0, errors: 0, seconds: 0, latenciesMs: [], sentAtMs: [], errorsAtMs: [], cache: {} }
  const total = Math.round(options.rate * options.seconds)
  const intervalMs = 1000 / options.rate
  const started = performance.now()
  const inFlight: Array<Promise<void>> = []
  const send = async (dueMs: number) => {
    const record = (failed: boolean) => {
      result.latenciesMs.push(performance.now() - started - dueMs)
      result.sentAtMs.push(dueMs)
      if (failed) {
        result.errors++
        result.errorsAtMs.push(dueMs)
      }
    }
    try {
      const res = await pool.request({ method: 'GET', path: options.next(), headers: options.headers })
      await res.body.arrayBuffer()
      record(res.statusCode >= 400)
      const verdict = res.headers['x-tessera-cache']
      if (typeof verdict === 'string') result.cache[verdict] = (result.cache[verdict] ?? 0) + 1
    } catch {
      record(true)
    }
  }
  try {
    // Every request that is due goes out now (never before its time); then sleep until the next one is due.
    for (let i = 0; i < total; ) {
      const nowMs = performance.now() - started
      for (; i < total && i * intervalMs <= nowMs; i++) {
        result.requests++
        inFlight.push(send(i * intervalMs))
      }
      if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, i * intervalMs - (performance.now() - started))))
    }
    await Promise.all(inFlight)
  } finally {
    await pool.close()
  }
  result.seconds = (performance.now() - started) / 1000
  return result
}
