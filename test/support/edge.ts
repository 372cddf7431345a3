// Reading the real edge in tests: HTTP through varnishd, and its counters from varnishstat.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { EdgeNode } from '../../scripts/stack/stack.js'

const exec = promisify(execFile)

/**
 * Counters as varnishstat reads them once they have settled: worker threads add their counts to the shared
 * ones in batches, so a read right after a request can lag. Reads until two in a row agree.
 */
export async function counters(edge: EdgeNode, ...names: string[]): Promise<Record<string, number>> {
  let previous = await readCounters(edge, names)
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 150))
    const current = await readCounters(edge, names)
    if (names.every((n) => current[n] === previous[n])) return current
    previous = current
  }
  return previous
}

async function readCounters(edge: EdgeNode, names: string[]): Promise<Record<string, number>> {
  const args = ['-n', edge.workDir, '-j', ...names.flatMap((n) => ['-f', n])]
  const { stdout } = await exec('varnishstat', args)
  const parsed = JSON.parse(stdout) as { counters?: Record<string, { value: number }> } & Record<string, { value: number }>
  const source = parsed.counters ?? parsed
  const out: Record<string, number> = {}
  for (const name of names) out[name] = source[name]?.value ?? 0
  return out
}

export interface EdgeResponse {
  status: number
  headers: Headers
  body: string
}

export async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<EdgeResponse> {
  const res = await fetch(base + path, { headers, redirect: 'manual' })
  return { status: res.status, headers: res.headers, body: await res.text() }
}

export async function purgeKeys(edge: EdgeNode, secret: string, keys: string[], mode: 'hard' | 'soft' = 'hard'): Promise<number> {
  const res = await fetch(edge.url + '/', {
    method: 'PURGE',
    headers: { 'x-tessera-purge-secret': secret, 'xkey-purge': keys.join(' '), 'x-tessera-purge-mode': mode },
  })
  if (res.status !== 200) throw new Error(`PURGE answered ${res.status}: ${await res.text()}`)
  return Number(res.headers.get('x-purged-count'))
}
