// `npm start`'s launcher: the whole stack comes up with demo content and prints the URL; SIGTERM stops every
// child with nothing left running.
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { projectRoot } from '../../platform/paths.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-start-'))
t.teardown(() => rmSync(stateDir, { recursive: true, force: true }))
const names = ['REDIS', 'LAYOUT', 'NAV', 'SIDEBAR', 'ARTICLE', 'SECTIONS', 'CONTENT', 'PURGE', 'EDGE', 'EDGE_ADMIN']
const ports = await freePorts(names.length)
const env = { ...process.env, TESSERA_STATE_DIR: stateDir, TESSERA_LOG_LEVEL: 'warn', ...Object.fromEntries(names.map((n, i) => [`TESSERA_${n}_PORT`, String(ports[i])])) }
const edgePort = ports[names.indexOf('EDGE')]

const running = () => {
  try {
    return execFileSync('pgrep', ['-f', stateDir], { encoding: 'utf8' }).trim().split('\n').filter(Boolean)
  } catch {
    return [] // pgrep exits 1 when nothing matches
  }
}

async function openPorts(): Promise<number[]> {
  const open = await Promise.all(
    ports.map(
      (port) =>
        new Promise<boolean>((resolve) => {
          const socket = net.connect(port, '127.0.0.1')
          socket.once('connect', () => {
            socket.destroy()
            resolve(true)
          })
          socket.once('error', () => resolve(false))
        }),
    ),
  )
  return ports.filter((_, i) => open[i])
}

t.test('the launcher prints the URL, serves pages, and leaves nothing running after SIGTERM', async (t) => {
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist/scripts/start.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const deadline = Date.now() + 60_000
  while (!output.includes('Press Ctrl-C to stop.')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL')
      throw new Error(`the stack did not come up:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  t.match(output, `Site (through the edge):   http://127.0.0.1:${edgePort}/`)
  t.match(output, /TESSERA_EDITOR_TOKEN=\S{16,}/)
  t.match(output, 'seeded demo content')
  const home = await fetch(`http://127.0.0.1:${edgePort}/`)
  t.equal(home.status, 200)
  t.match(await home.text(), 'data-fragment="article"')
  t.ok(running().length >= 2, `varnishd (manager and cache child) runs under the state dir (${running().length} processes)`)
  t.same(await openPorts(), ports, 'every service listens on its port')

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'the launcher exits 0')
  t.match(output, 'stopped; nothing left running')
  // varnishd's cache child and the watchdogs may take a moment after the manager has gone
  for (let i = 0; i < 50 && running().length > 0; i++) await new Promise((r) => setTimeout(r, 100))
  t.same(running(), [], 'no varnishd of this stack is left')
  t.same(await openPorts(), [], 'no port of this stack is still listening')
})
