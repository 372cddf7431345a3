// deploy/systemd/: a unit for each kind of process, each with Restart= and an EnvironmentFile=, checked by
// systemd's own `systemd-analyze verify` (any warning it prints fails the test: it exits 0 on most of them).
import { execFile } from 'node:child_process'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { projectRoot } from '../../platform/paths.js'

const exec = promisify(execFile)
const unitDir = path.join(projectRoot, 'deploy', 'systemd')
const units = readdirSync(unitDir).filter((f) => /\.(service|target)$/.test(f)).sort()

const found = await exec('systemd-analyze', ['--version']).then(() => true, () => false)

t.test('every kind of process has its unit', async (t) => {
  t.same(units, [
    'tessera-content.service',
    'tessera-fragment@.service',
    'tessera-layout.service',
    'tessera-purge.service',
    'tessera-redis.service',
    'tessera-varnish.service',
    'tessera.target',
  ])
  for (const unit of units.filter((u) => u.endsWith('.service'))) {
    const text = readFileSync(path.join(unitDir, unit), 'utf8')
    t.match(text, /^Restart=on-failure$/m, `${unit} restarts on failure`)
    t.match(text, /^EnvironmentFile=\/etc\/tessera\/tessera\.env$/m, `${unit} reads the shared environment file`)
    t.match(text, /^WantedBy=tessera\.target$/m, `${unit} is part of tessera.target`)
    t.match(text, /^After=network-online\.target/m, `${unit} starts once the network is up`)
  }
  const fragment = readFileSync(path.join(unitDir, 'tessera-fragment@.service'), 'utf8')
  t.match(fragment, /dist\/fragments\/%i\/server\.js/, 'the instance name is the fragment')
  t.match(readFileSync(path.join(unitDir, 'tessera-purge.service'), 'utf8'), /^After=.*tessera-redis\.service.*tessera-varnish\.service/m, 'the purge service after Redis and the edge')
  t.match(readFileSync(path.join(unitDir, 'tessera-varnish.service'), 'utf8'), /-f \/opt\/tessera\/varnish\/default\.vcl/, 'varnishd runs our VCL')
})

t.test('systemd-analyze verify accepts every unit without a warning', async (t) => {
  if (!found) {
    t.fail('systemd-analyze is not installed: it comes with Debian\'s systemd package (apt-get install systemd); without it deploy/systemd/ cannot be checked')
    return
  }
  // A template is verified as one of its instances; every unit together, so the ordering names resolve.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tessera-units-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const unit of units) copyFileSync(path.join(unitDir, unit), path.join(dir, unit))
  for (const name of ['nav', 'sidebar', 'article', 'sections']) copyFileSync(path.join(unitDir, 'tessera-fragment@.service'), path.join(dir, `tessera-fragment@${name}.service`))
  const targets = readdirSync(dir).filter((u) => !u.endsWith('@.service')).map((u) => path.join(dir, u))
  const result = await exec('systemd-analyze', ['verify', ...targets], { cwd: dir }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }),
  )
  t.equal(result.code, 0, 'systemd-analyze verify exits 0')
  t.equal(result.output.trim(), '', 'and prints no warning')
})
