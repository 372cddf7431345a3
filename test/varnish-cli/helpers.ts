// Starts a real varnishd (with our launcher) in a temp dir for a test, and cleans it up afterwards.

import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

import { freePorts } from '../../scripts/stack/ephemeral.js'
import { startVarnishd, writeSecretFile, type RunningVarnishd } from '../../scripts/stack/varnishd.js'

export const MINIMAL_VCL = 'vcl 4.1;\nbackend default { .host = "127.0.0.1"; .port = "9"; }\n'

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]
}

export interface TestVarnish {
  dir: string
  workDir: string
  httpPort: number
  adminPort: number
  secret: Buffer
  secretFile: string
  varnishd: RunningVarnishd
  logs: string[]
}

interface Teardown {
  teardown(fn: () => unknown): void
}

export async function startTestVarnish(
  t: Teardown,
  opts: { vcl?: string; params?: Record<string, string>; dirMode?: number } = {},
): Promise<TestVarnish> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-varnish-'))
  // mkdtemp makes a 0700 dir; 0755 lets varnishd keep its privilege drop (see chooseJail).
  await chmod(dir, opts.dirMode ?? 0o755)
  const vclFile = path.join(dir, 'test.vcl')
  await writeFile(vclFile, opts.vcl ?? MINIMAL_VCL, { mode: 0o644 })
  const secretFile = path.join(dir, 'secret')
  await writeSecretFile(secretFile)
  const [httpPort, adminPort] = [await freePort(), await freePort()]
  const workDir = path.join(dir, 'varnish')
  const logs: string[] = []
  const varnishd = await startVarnishd({
    workDir,
    listen: [{ name: 'front', host: '127.0.0.1', port: httpPort }],
    adminHost: '127.0.0.1',
    adminPort,
    secretFile,
    vclFile,
    vclPath: [dir],
    storageMb: 16,
    params: opts.params,
    log: (l) => logs.push(l),
  })
  t.teardown(async () => {
    await varnishd.stop()
    await rm(dir, { recursive: true, force: true })
  })
  return { dir, workDir, httpPort, adminPort, secret: await readFile(secretFile), secretFile, varnishd, logs }
}

/** PIDs whose command line mentions `needle` (pgrep -f), excluding pgrep itself. */
export async function pgrep(needle: string): Promise<number[]> {
  try {
    const { stdout } = await promisify(execFile)('pgrep', ['-f', needle])
    return stdout.split('\n').filter(Boolean).map(Number)
  } catch (err) {
    if ((err as { code?: number }).code === 1) return [] // no match
    throw err
  }
}

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port })
    s.once('connect', () => { s.destroy(); resolve(false) })
    s.once('error', () => resolve(true))
  })
}
