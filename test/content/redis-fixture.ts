// A throwaway redis-server for one test file (to be replaced by the shared harness): free port, temp dir,
// no persistence, killed on teardown.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

export interface TestRedis {
  url: string
  port: number
  /** Kill the server now (to test what happens while Redis is down); teardown does it otherwise. */
  stop(): Promise<void>
}

export async function startRedis(t: { teardown(fn: () => unknown): void }): Promise<TestRedis> {
  const port = await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-redis-'))
  const child = spawn('redis-server', ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir], {
    stdio: 'ignore',
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  t.teardown(async () => {
    await stop()
    rmSync(dir, { recursive: true, force: true })
  })
  for (let i = 0; !(await accepts(port)); i++) {
    if (i > 100 || child.exitCode !== null) throw new Error(`redis-server did not start on port ${port}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
