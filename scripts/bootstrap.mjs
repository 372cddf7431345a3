// Installs what `npm start` / `npm test` need and is missing: npm packages, then Varnish (+ xkey from
// varnish-modules) and Redis (+ redis-sentinel) from Debian's packages (apt-get when root, else the exact command to run).
// Plain JavaScript with no dependencies: it runs before `npm ci`.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const say = (msg) => process.stderr.write(`bootstrap: ${msg}\n`)

const major = Number(process.versions.node.split('.')[0])
if (major < 20) {
  say(`Node.js ${process.versions.node} is too old; Tessera needs Node.js 20 or newer.`)
  process.exit(1)
}

if (!existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
  say('installing npm packages (npm ci)')
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0
const xkeyInstalled = () => {
  // Debian puts vmods under /usr/lib/<multiarch>/varnish/vmods
  const dirs = ['/usr/lib/varnish/vmods', ...readdirSync('/usr/lib').map((d) => path.join('/usr/lib', d, 'varnish', 'vmods'))]
  return dirs.some((d) => existsSync(path.join(d, 'libvmod_xkey.so')))
}

const missing = []
if (!has('varnishd') || !has('varnishtest') || !has('varnishadm')) missing.push('varnish')
if (!xkeyInstalled()) missing.push('varnish-modules')
if (!has('redis-server')) missing.push('redis-server')
// TESSERA_REDIS_HA=on and its integration test run three sentinels (Debian's redis-sentinel).
if (!has('redis-sentinel')) missing.push('redis-sentinel')
// Debian's Chromium for the console's browser tests (playwright-core drives it; no browser is downloaded):
// `npm test` asks for it with --tests; `npm start` does not need it.
if (process.argv.includes('--tests') && !existsSync('/usr/bin/chromium')) missing.push('chromium')
// wrk drives every benchmark (bench/support/wrk.ts): `npm run bench` asks for it with --bench.
if (process.argv.includes('--bench') && !has('wrk')) missing.push('wrk')

if (missing.length > 0) {
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`
  if (process.getuid?.() !== 0) {
    say(`missing Debian packages: ${missing.join(', ')}. Run as root:\n\n  sudo sh -c '${command}'\n\nthen run this command again.`)
    process.exit(1)
  }
  say(`installing ${missing.join(', ')} with apt-get`)
  // policy-rc.d keeps Debian from starting the system varnish/redis services: the stack runs its own.
  const r = spawnSync('sh', ['-c', `export DEBIAN_FRONTEND=noninteractive; ${command}`], { stdio: 'inherit' })
  if (r.status !== 0) {
    say('apt-get failed; see its output above')
    process.exit(r.status ?? 1)
  }
}
