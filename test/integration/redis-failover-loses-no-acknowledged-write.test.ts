// TESSERA_REDIS_HA: a primary, two replicas and three sentinels on loopback, every service through the
// sentinels, two edge nodes. Under a steady edit load and read load: a replica killed costs nothing; the primary
// killed (-9) is failed over, the services follow the new primary by themselves, and once it settles every
// edit the content API acknowledged is in the store, its event was processed and its purge reached both edges;
// readers saw no error, editors no 500 and no hang (only 503s with a stable code while there was no primary).
import t from 'tap'
import type { Article } from '../../content/model.js'
import { startEdits, startReads, survivingEdits } from '../support/failover-load.js'
import { metrics, sample } from '../support/metrics.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled } from '../support/wait.js'

const stack = await startTestStack(t, { redisHa: true, edges: 2 })
const ha = stack.redisHa!
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const all = ((await (await fetch(`${contentApi}/articles?limit=100`, { headers: editor })).json()) as { items: Article[] }).items
const articles = all.filter((a) => a.publishedAt && Date.parse(a.publishedAt) < Date.now()).slice(0, 3)
const pages = ['/', '/sections/news', ...articles.map((a) => `/articles/${a.slug}`)]

const load = { contentApi, token: stack.secrets.editorToken, articles }
const editLoad = (editors: number, pauseMs: number, tag: string) => startEdits({ ...load, editors, pauseMs, tag })
const readLoad = (readers: number) => startReads({ edges: stack.edges, pages, readers })
const processedEvents = async () => sample(await metrics(`http://127.0.0.1:${stack.config.ports.purge}`), 'tessera_events_processed_total') ?? NaN

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('a replica killed (-9) under edit and read load: editors and readers notice nothing', async (t) => {
  const primary = await ha.primaryPort()
  const replica = ha.serverPorts.find((p) => p !== primary)!
  const edits = editLoad(2, 250, '1')
  const reads = readLoad(2)
  await sleep(1000)
  await ha.kill(replica)
  await sleep(2500)
  await Promise.all([edits.stop(), reads.stop()])
  t.same(edits.answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.code}`), [], `every one of ${edits.answers.length} edits answered 200 at once`)
  t.same(reads.seen.filter((s) => s.status !== 200).map((s) => `${s.path} ${s.status}`), [], `every one of ${reads.seen.length} reads a 200`)
  t.equal(await ha.primaryPort(), primary, 'no failover')
  await ha.restart(replica)
  await ha.settled()
})

t.test('the primary killed (-9) under edit and read load: failed over, no acknowledged edit or purge lost, no reader error', async (t) => {
  const processedBefore = await processedEvents()
  const edits = editLoad(2, 300, '2')
  const reads = readLoad(2)
  await sleep(1500)
  const primary = await ha.primaryPort()
  await ha.kill(primary)
  const killedAt = Date.now()
  // Writes succeed again: the first edit sent after the kill that the API acknowledged.
  const deadline = Date.now() + 30_000
  while (!edits.answers.some((a) => a.sentAt > killedAt && a.status === 200) && Date.now() < deadline) await sleep(20)
  const firstWrite = edits.answers.find((a) => a.sentAt > killedAt && a.status === 200)
  t.ok(firstWrite, 'writes succeeded again')
  const failoverMs = firstWrite!.at - killedAt
  await sleep(2500)
  await Promise.all([edits.stop(), reads.stop()])
  const newPrimary = await ha.primaryPort()
  t.not(newPrimary, primary, `a replica was promoted (port ${newPrimary})`)
  t.ok(failoverMs < 25_000, `kill -9 of the primary to the first acknowledged write: ${failoverMs} ms`)

  const during = edits.answers.filter((a) => a.status !== 200)
  t.same(during.filter((a) => a.status !== 503 || !/^TESSERA_STORE_(UNAVAILABLE|NOT_REPLICATED)$/.test(a.code ?? '')).map((a) => `${a.status} ${a.code}`), [],
    `while there was no primary editors got only 503 TESSERA_STORE_UNAVAILABLE / _NOT_REPLICATED (${during.length} of them), no 500, no hang`)
  t.ok(Math.max(...edits.answers.map((a) => a.ms)) < 10_000, `the slowest answer took ${Math.max(...edits.answers.map((a) => a.ms))} ms`)
  t.same(reads.seen.filter((s) => s.status !== 200).map((s) => `${s.path} ${s.status}`), [], `readers saw 0 errors in ${reads.seen.length} reads`)

  await eventsSettled(stack.redisUrl, 30_000)
  const survived = await survivingEdits({ ...load, edges: stack.edges, load: edits })
  t.ok(survived.acked >= 10, `${survived.acked} edits acknowledged`)
  for (const a of survived.articles) t.same(a.stored, a.acked, `article ${a.id}: the store holds every edit acknowledged for it (${a.acked.length}), in order, and no other`)
  t.equal(survived.found, survived.acked, `edits acknowledged vs found after the failover: ${survived.acked} / ${survived.found}`)
  t.same(survived.stale, [], 'both edge nodes serve every edited article with its last acknowledged edit: every purge reached them')
  const processed = (await processedEvents()) - processedBefore
  t.ok(processed >= survived.acked, `the purge service processed ${processed} change events (>= the ${survived.acked} acknowledged edits), resuming from its group on the new primary`)
  t.comment(`failover ${failoverMs} ms; ${survived.acked}/${survived.found} edits; ${during.length} 503s to editors; ${reads.seen.filter((s) => s.status !== 200).length}/${reads.seen.length} read errors`)
})
