import { spawn } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import t from 'tap'

import { VarnishCli } from '../../varnish-cli/varnish-cli.js'
import { chooseJail, startVarnishd, VarnishdStartFailed, writeSecretFile } from '../../scripts/stack/varnishd.js'
import { freePort, MINIMAL_VCL, pgrep, portIsFree, startTestVarnish } from './helpers.js'

const isRoot = process.getuid?.() === 0

t.test('stop() leaves no varnishd of that work dir running and frees the ports', async (t) => {
  const v = await startTestVarnish(t)
  const running = await pgrep(v.workDir)
  t.ok(running.includes(v.varnishd.pid), 'the manager runs')
  t.ok(running.length >= 2, `manager and cache child run (${running.length} processes)`)
  t.equal(v.varnishd.jail, isRoot ? 'unix' : 'none', 'a /tmp checkout keeps the privilege drop as root')
  t.notOk(await portIsFree(v.httpPort))

  await v.varnishd.stop()
  t.same(await pgrep(v.workDir), [], 'no process mentions the work dir any more')
  t.ok(await portIsFree(v.httpPort), 'HTTP port closed')
  t.ok(await portIsFree(v.adminPort), 'admin port closed')
  t.equal(await v.varnishd.exited, 0)
  await v.varnishd.stop() // idempotent
})

t.test('a Node process that dies (even by SIGKILL) takes its varnishd down with it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-varnish-'))
  await chmod(dir, 0o755)
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(path.join(dir, 'test.vcl'), MINIMAL_VCL, { mode: 0o644 })
  await writeSecretFile(path.join(dir, 'secret'))
  const workDir = path.join(dir, 'varnish')
  const launcher = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/stack/varnishd.js')
  const script = `
    import { startVarnishd } from ${JSON.stringify(launcher)}
    await startVarnishd(${JSON.stringify({
      workDir, listen: [{ name: 'a', host: '127.0.0.1', port: await freePort() }], adminHost: '127.0.0.1',
      adminPort: await freePort(), secretFile: path.join(dir, 'secret'), vclFile: path.join(dir, 'test.vcl'),
      vclPath: [], storageMb: 8,
    })})
    console.log('ready')
    setInterval(() => {}, 1000)
  `
  const node = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    node.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve() })
    node.once('exit', (code) => reject(new Error(`launcher exited early with ${code}`)))
  })
  t.ok((await pgrep(workDir)).length >= 2, 'varnishd (manager and child) runs')
  const exited = new Promise<NodeJS.Signals | null>((r) => node.once('exit', (_c, sig) => r(sig)))
  node.kill('SIGKILL') // no handler can run: the watchdog's pipe closing is what stops varnishd
  t.equal(await exited, 'SIGKILL')
  for (let i = 0; i < 100 && (await pgrep(workDir)).length > 0; i++) await new Promise((r) => setTimeout(r, 50))
  t.same(await pgrep(workDir), [], 'nothing of that work dir is left')
})

t.test('a VCL compile error fails the start with the compiler output, leaving nothing behind', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-varnish-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(path.join(dir, 'bad.vcl'), 'vcl 4.1;\nbackend default { .host = "127.0.0.1"; .port = "9"; }\nsub vcl_recv { nonsense; }\n', { mode: 0o644 })
  await writeSecretFile(path.join(dir, 'secret'))
  const workDir = path.join(dir, 'varnish')
  const started = Date.now()
  const err = await startVarnishd({
    workDir,
    listen: [{ name: 'a', host: '127.0.0.1', port: await freePort() }],
    adminHost: '127.0.0.1', adminPort: await freePort(), secretFile: path.join(dir, 'secret'),
    vclFile: path.join(dir, 'bad.vcl'), vclPath: [dir], storageMb: 8,
  }).catch((e: unknown) => e)
  t.type(err, VarnishdStartFailed)
  t.equal((err as VarnishdStartFailed).code, 'TESSERA_VARNISHD_START')
  t.match((err as Error).message, /nonsense/)
  t.match((err as Error).message, /exited with code/)
  t.ok(Date.now() - started < 15_000)
  t.same(await pgrep(workDir), [])
})

t.test('a VCL the varnish user cannot reach runs with -j none and says why', { skip: !isRoot && 'needs root' }, async (t) => {
  const v = await startTestVarnish(t, { dirMode: 0o700 })
  t.equal(v.varnishd.jail, 'none')
  t.ok(v.varnishd.args.includes('-j'))
  t.match(v.logs.join('\n'), /without the privilege drop \(-j none\): .*tessera-varnish-\w+ is not traversable by others \(mode 700\)/)
  const cli = await VarnishCli.connect({ host: '127.0.0.1', port: v.adminPort, secret: v.secret })
  await cli.ping()
  await cli.close()
})

t.test('chooseJail looks at every directory on the way and the VCL files', { skip: !isRoot && 'needs root' }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-jail-'))
  await chmod(dir, 0o755)
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const vcl = path.join(dir, 'default.vcl')
  await writeFile(vcl, MINIMAL_VCL, { mode: 0o644 })
  t.equal((await chooseJail({ vclFile: vcl, vclPath: [dir], workDir: path.join(dir, 'w') })).jail, 'unix')
  await writeFile(path.join(dir, 'secret-include.vcl'), '', { mode: 0o600 })
  const c = await chooseJail({ vclFile: vcl, vclPath: [dir], workDir: path.join(dir, 'w') })
  t.equal(c.jail, 'none')
  await chmod(path.join(dir, 'secret-include.vcl'), 0o644)
  await chmod(dir, 0o750)
  const d = await chooseJail({ vclFile: vcl, vclPath: [], workDir: '/tmp/elsewhere' })
  t.equal(d.jail, 'none')
  t.match(d.reason, /tessera-jail-\w+ is not traversable by others \(mode 750\)/)
  await chmod(dir, 0o755)
  t.match(c.reason, /secret-include\.vcl is not readable by others/)
  t.equal((await chooseJail({ vclFile: vcl, vclPath: [], workDir: '/root/tessera/varnish' })).jail, 'none', '/root is 0700')
})

t.test('writeSecretFile creates a 0600 secret once and keeps it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-secret-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'sub', 'secret')
  await writeSecretFile(file)
  const st = await stat(file)
  t.equal(st.mode & 0o777, 0o600)
  t.ok(st.size >= 32)
  const first = await readFile(file)
  await writeSecretFile(file)
  t.same(await readFile(file), first, 'an existing secret is not replaced')
})
