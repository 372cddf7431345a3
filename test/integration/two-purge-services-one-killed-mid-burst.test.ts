// Two purge-service instances against one Redis, one of them killed (kill -9) in the middle of a burst of
// edits while one edge node is frozen (its purges queue up): every edit's purge still reaches both edges, the
// killed instance's pending events are taken over (TESSERA_PURGE_CLAIM_IDLE_MS), the frozen node's queue is
// drained by one instance at a time (the lease) in order, and readers end with every article's last revision.
import { type ChildProcess, spawn } from 'node:child_process'
import os from 'node:os'
import { Redis } from 'ioredis'
import t from 'tap'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { type ArticleInput, callJson, editable, publishedArticles } from '../support/api.js'
import { get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled, until } from '../support/wait.js'

const PURGE_TIMEOUT_MS = 2000
const stack = await startTestStack(t, {
  edges: 2,
  env: { TESSERA_PURGE_CLAIM_IDLE_MS: '1500', TESSERA_PURGE_LEASE_MS: '3000', TESSERA_PURGE_TIMEOUT_MS: String(PURGE_TIMEOUT_MS) },
})
const edge2 = stack.edges[1]
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const [secondPort] = await freePorts(1)
await stack.startPurgeInstance({ host: '127.0.0.1', port: secondPort })
const survivorApi = `http://127.0.0.1:${secondPort}`
const redis = new Redis(stack.redisUrl)
t.teardown(() => redis.disconnect())
const ops = { authorization: `Bearer ${stack.secrets.opsToken}` }
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }

/** Every PURGE an edge receives, in arrival order: its send time (the purge service's, kept when queued) and keys. */
function recordPurges(edge: EdgeNode): { lines: Array<{ sentAt: number; keys: string[] }>; stop(): Promise<void> } {
  const lines: Array<{ sentAt: number; keys: string[] }> = []
  const child: ChildProcess = spawn('varnishncsa', ['-n', edge.workDir, '-q', 'ReqMethod eq "PURGE"', '-F', '%{x-tessera-purge-sent-at}i %{xkey-purge}i'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let partial = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const all = (partial + chunk).split('\n')
    partial = all.pop()!
    for (const line of all) {
      const [sentAt, ...keys] = line.trim().split(/\s+/)
      if (sentAt && sentAt !== '-') lines.push({ sentAt: Math.round(Number(sentAt) * 1000), keys })
    }
  })
  const exited = new Promise((r) => child.once('exit', r))
  t.teardown(() => child.kill('SIGKILL'))
  return {
    lines,
    stop: async () => {
      child.kill('SIGINT')
      await exited
    },
  }
}

const targets = (await publishedArticles(contentApi, stack.secrets.editorToken)).slice(0, 3)
const current = new Map<string, ArticleInput>(targets.map((a) => [a.id, editable(a)]))
const pageOf = (id: string) => `/articles/${targets.find((a) => a.id === id)!.slug}`
for (const edge of stack.edges) {
  for (const a of targets) if ((await get(edge.url, pageOf(a.id))).status !== 200) throw new Error(`${edge.name} ${pageOf(a.id)} did not answer 200`)
}
await eventsSettled(stack.redisUrl)
const records = stack.edges.map(recordPurges)
await new Promise((r) => setTimeout(r, 500)) // varnishncsa attached

const EDITS = 60
const edits: Array<{ id: string; marker: string; before: number }> = []
let frozenWorker = 0
let frozenAt = 0
/** What the killed instance had read and not acknowledged when it died (its consumer's pending count). */
let pendingAtKill = -1
const killedConsumer = `${os.hostname()}:${stack.config.ports.purge}`
const pendingOf = async (consumer: string) => {
  const rows = (await redis.xinfo('CONSUMERS', 'tessera:events', 'tessera-purgers')) as Array<Array<string | number>>
  const row = rows.map((r) => Object.fromEntries(Array.from({ length: r.length / 2 }, (_, i) => [r[i * 2], r[i * 2 + 1]]))).find((c) => c.name === consumer)
  return Number(row?.pending ?? 0)
}
t.test('a burst of edits: one instance killed, one edge frozen and thawed meanwhile', async (t) => {
  for (let n = 0; n < EDITS; n++) {
    if (n === 20) {
      frozenWorker = await edge2.varnishd.workerPid()
      process.kill(frozenWorker, 'SIGSTOP')
      frozenAt = Date.now()
      t.teardown(() => process.kill(frozenWorker, 'SIGCONT'))
    }
    if (n === 30) {
      await stack.killService('purge') // kill -9 of the first instance
      pendingAtKill = await pendingOf(killedConsumer)
    }
    if (n === 45) {
      // Frozen for well over a purge timeout: its purges time out and queue behind each other.
      await new Promise((r) => setTimeout(r, Math.max(0, frozenAt + 3 * PURGE_TIMEOUT_MS - Date.now())))
      process.kill(frozenWorker, 'SIGCONT')
    }
    const a = targets[n % targets.length]
    const marker = `burst-edit-${n}`
    const input = { ...current.get(a.id)!, body: `${targets.find((x) => x.id === a.id)!.body}\n\n${marker}` }
    const before = Date.now()
    const res = await callJson(contentApi, 'PUT', `/articles/${a.id}`, input, editor)
    t.equal(res.status, 200, `edit ${n} saved`)
    current.set(a.id, input)
    edits.push({ id: a.id, marker, before })
    await new Promise((r) => setTimeout(r, 40))
  }
})

t.test('the survivor takes the killed instance\'s events over and drains the frozen node\'s queue', async (t) => {
  await eventsSettled(stack.redisUrl, 30_000)
  t.ok(pendingAtKill > 0, `the killed instance died with ${pendingAtKill} events read and not acknowledged`)
  t.equal(await pendingOf(killedConsumer), 0, 'the survivor took them over (XAUTOCLAIM) and acknowledged them')
  await until('no purge waiting for any edge', async () => {
    const { json } = await callJson<{ edges: Array<{ name: string; pending: number; state: string }> }>(survivorApi, 'GET', '/edges', undefined, ops)
    return json.edges.every((e) => e.pending === 0 && e.state === 'ready')
  }, 30_000)
  const audit = (await callJson<{ purges: Array<{ who: string; source: string; nodes: Array<{ node: string; queued?: boolean }> }> }>(survivorApi, 'GET', '/purges?limit=500', undefined, editor)).json.purges
  const queued = audit.filter((p) => p.nodes.some((n) => n.node === edge2.url && n.queued)).length
  t.ok(queued >= 1, `${queued} purges were queued for the frozen edge, and its queue drained`)
  const by = new Set(audit.filter((p) => p.source === 'event').map((p) => p.who))
  t.ok(by.has(`events:${os.hostname()}:${secondPort}`), `the survivor purged for events (${[...by].join(', ')})`)
  t.ok(by.size >= 2, 'both instances purged for events during the burst')
})

t.test('every edit\'s purge reached both edges, queued ones in order', async (t) => {
  await new Promise((r) => setTimeout(r, 1000))
  for (const r of records) await r.stop()
  for (const [i, edge] of stack.edges.entries()) {
    const { lines } = records[i]
    // None lost: for each edit, a purge of its article's key sent after the edit began.
    const missing = edits.filter((e) => !lines.some((l) => l.keys.includes(`article:${e.id}`) && l.sentAt >= e.before - 5))
    t.same(missing.map((e) => e.marker), [], `${edge.name}: a purge after every edit (${lines.length} purges received)`)
    // In order: a request that timed out at the frozen node stays in its socket and is still taken when it thaws
    // (the same purge again, harmless). Those are the sends of the first timeout after the freeze (before either
    // instance knew the node lagged) and the drainer's retries of the queue's head, which carries the send time of
    // the first purge queued: all sent within one timeout of the freeze, and they may arrive at any point after
    // the thaw. Any other purge may arrive at most one timeout behind a newer one; older than that, the queue
    // would have been drained out of order (two instances at once, or a head taken off before it was delivered).
    const heldBySocket = (sentAt: number) => i === 1 && sentAt >= frozenAt - 500 && sentAt <= frozenAt + PURGE_TIMEOUT_MS + 500
    let newest = 0
    const late: string[] = []
    for (const l of lines) {
      if (l.sentAt < newest - PURGE_TIMEOUT_MS - 500 && !heldBySocket(l.sentAt)) late.push(`${l.sentAt} after ${newest} (frozen at ${frozenAt})`)
      newest = Math.max(newest, l.sentAt)
    }
    t.same(late, [], `${edge.name}: no purge delivered out of order`)
  }
})

t.test('the dead instance is removed from the consumer group once idle ten claim times', async (t) => {
  await until('the dead consumer to be removed', async () => {
    const rows = (await redis.xinfo('CONSUMERS', 'tessera:events', 'tessera-purgers')) as Array<Array<string | number>>
    return !rows.some((r) => r[r.indexOf('name') + 1] === killedConsumer)
  }, 30_000)
  const rows = (await redis.xinfo('CONSUMERS', 'tessera:events', 'tessera-purgers')) as Array<Array<string | number>>
  t.same(rows.map((r) => r[r.indexOf('name') + 1]), [`${os.hostname()}:${secondPort}`], 'the survivor only')
})

t.test('readers at both edges see each article\'s last revision', async (t) => {
  for (const edge of stack.edges) {
    for (const a of targets) {
      const last = edits.filter((e) => e.id === a.id).at(-1)!
      const page = await get(edge.url, pageOf(a.id))
      t.equal(page.status, 200)
      t.ok(page.body.includes(last.marker), `${edge.name} ${pageOf(a.id)} shows ${last.marker}`)
    }
  }
})
