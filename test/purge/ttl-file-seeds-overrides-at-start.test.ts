import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import t from 'tap'
import { projectRoot } from '../../platform/paths.js'
import { startService } from '../../scripts/stack/services.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import { startRedis } from '../support/redis.js'

const server = await startRedis(t)
const redis = new Redis(server.url)
t.teardown(() => redis.disconnect())
const dir = mkdtempSync(path.join(tmpdir(), 'tessera-ttl-file-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const [purgePort, edgePort, adminPort] = await freePorts(3)
const opsToken = 'ops-token-0123456789ab'
const env = (ttlFile: string): Record<string, string> => ({
  REDIS_URL: server.url,
  TESSERA_STATE_DIR: dir,
  TESSERA_EDITOR_TOKEN: 'editor-token-0123456789',
  TESSERA_OPS_TOKEN: opsToken,
  TESSERA_PURGE_SECRET: 'purge-secret-0123456789',
  // No varnishd listens here: the soft purges queue for it, which does not stop the service.
  TESSERA_EDGE_NODES: `http://127.0.0.1:${edgePort}`,
  TESSERA_EDGE_ADMINS: `127.0.0.1:${adminPort}`,
  TESSERA_LOG_LEVEL: 'warn',
  TESSERA_TTL_FILE: ttlFile,
})
const file = (name: string, text: string) => {
  const p = path.join(dir, name)
  writeFileSync(p, text)
  return p
}

async function startPurgeService(ttlFile: string) {
  const lines: string[] = []
  const service = await startService({ name: 'purge', script: 'purge-service/server.js', port: purgePort, host: '127.0.0.1', env: env(ttlFile), log: (l) => lines.push(l) })
  return { service, lines }
}
const policies = async () => {
  const res = await fetch(`http://127.0.0.1:${purgePort}/policies`, { headers: { authorization: `Bearer ${opsToken}` } })
  return (await res.json()).policies as Array<{ fragment: string; source: string; override?: { ttl: number; by: string } }>
}
const audit = () => redis.lrange('tessera:policy-audit', 0, -1)

t.test('a bad file stops the purge service with a message naming the problem', async (t) => {
  for (const [name, text, problem] of [
    ['bad-ttl.yaml', 'nav: {ttl: 60, grace: 30, keep: 99999999}\n', 'nav.keep: must be an integer number of seconds from 0 to 2592000'],
    ['bad-name.json', '{"footer": {"ttl": 60, "grace": 30, "keep": 3600}}', '"footer" is not a fragment'],
  ]) {
    const child = spawn(process.execPath, [path.join(projectRoot, 'dist/purge-service/server.js'), '--port', String(purgePort)], { env: { ...process.env, ...env(file(name, text)) } })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const code = await new Promise((resolve) => child.on('exit', resolve))
    t.not(code, 0, `${name}: exits`)
    t.match(stderr, 'TESSERA_INVALID_TTL_FILE', `${name}: with the error's code`)
    t.match(stderr, `TESSERA_TTL_FILE ${path.join(dir, name)}: ${problem}`, `${name}: names the file and the problem`)
  }
  t.same(await audit(), [], 'nothing applied')
})

t.test('a valid file is applied as overrides at start, audited as "file"; the same file again changes nothing', async (t) => {
  const ttlFile = file('ttl.yaml', '# kept in git\nnav: {ttl: 60, grace: 30, keep: 3600}\nsidebar:\n  ttl: 30\n  grace: 10\n  keep: 600\n')
  const first = await startPurgeService(ttlFile)
  const listed = await policies()
  t.match(listed.find((p) => p.fragment === 'nav'), { source: 'override', override: { ttl: 60, grace: 30, keep: 3600, by: 'file' } })
  t.match(listed.find((p) => p.fragment === 'sidebar'), { source: 'override', override: { ttl: 30, grace: 10, keep: 600, by: 'file' } })
  t.match(listed.find((p) => p.fragment === 'article'), { source: 'default' })
  const entries = (await audit()).map((row) => JSON.parse(row))
  t.same(entries.map((e) => [e.who, e.what, e.fragment]), [['file', 'set', 'sidebar'], ['file', 'set', 'nav']])
  const queued = (await redis.lrange(`tessera:purge-queue:http://127.0.0.1:${edgePort}`, 0, -1)).map((row) => JSON.parse(row))
  t.same(queued.map((q) => [q.mode, q.keys]), [['soft', ['fragment:nav', 'fragment:sidebar']]], 'one soft purge of both fragments, queued for the node that is down')
  await first.service.stop()

  const second = await startPurgeService(ttlFile)
  t.teardown(() => second.service.stop())
  t.equal((await audit()).length, 2, 'a restart with the same file writes nothing')
})
