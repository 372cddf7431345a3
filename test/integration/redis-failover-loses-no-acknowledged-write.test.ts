// TESSERA_REDIS_HA: a primary, two replicas and three sentinels on loopback, every service through the
// sentinels, two edge nodes. Under a steady edit load and read load: a replica killed costs nothing; the primary
// killed (-9) is failed over, the services follow the new primary by themselves, and once it settles every
// edit the content API acknowledged is in the store, its event was processed and its purge reached both edges;
// readers saw no error, editors no 500 and no hang (only 503s with a stable code while there was no primary).
import t from 'tap'
import type { Article } from '../../content/model.js'
import { editable } from '../support/api.js'
import { get } from '../support/edge.js'
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

const processedEvents = async () => sample(await metrics(`http://127.0.0.1:${stack.config.ports.purge}`), 'tessera_events_processed_total') ?? NaN

interface Answer { at: number; sentAt: number; status: number; code?: string; ms: number }

/**
 * Editors: each edit appends a marker to one article's body (every marker it acknowledged before stays in the
 * body it sends), so the stored body must hold exactly the markers the API acknowledged. A 503 is sent again,
 * unchanged, as a CMS client would.
 */
function editLoad(editors: number, pauseMs: number) {
  const acked = new Map<string, string[]>(articles.map((a) => [a.id, []]))
  const answers: Answer[] = []
  let running = true
  const loops = Array.from({ length: editors }, async (_, e) => {
    for (let n = 0; running; n++) {
      const article = articles[(e + n * editors) % articles.length]
      const marker = `edit-${e}-${n}`
      for (;;) {
        const input = { ...editable(article), body: `${article.body}\n\n${[...acked.get(article.id)!, marker].join(' ')}` }
        const sentAt = Date.now()
        let status = 0
        let code: string | undefined
        try {
          const res = await fetch(`${contentApi}/articles/${article.id}`, { method: 'PUT', headers: { ...editor, 'content-type': 'application/json' }, body: JSON.stringify(input), signal: AbortSignal.timeout(10_000) })
          status = res.status
          code = status === 200 ? undefined : ((await res.json()) as { error: { code: string } }).error.code
          if (status === 200) await res.arrayBuffer().catch(() => undefined)
        } catch (err) {
          code = (err as Error).name // a hang (TimeoutError) or a refused connection
        }
        answers.push({ at: Date.now(), sentAt, status, code, ms: Date.now() - sentAt })
        if (status === 200) {
          acked.get(article.id)!.push(marker)
          break
        }
        if (status !== 503 && status !== 0) break // an answer the test reports as wrong
        await new Promise((r) => setTimeout(r, 50))
      }
      await new Promise((r) => setTimeout(r, pauseMs))
    }
  })
  return { acked, answers, async stop() { running = false; await Promise.all(loops) } }
}

function readLoad(readers: number) {
  const seen: Array<{ at: number; path: string; status: number }> = []
  let running = true
  const loops = Array.from({ length: readers }, async (_, r) => {
    for (let n = r; running; n++) {
      const path = pages[n % pages.length]
      const res = await get(stack.edges[n % stack.edges.length].url, path).catch(() => ({ status: 0 }))
      seen.push({ at: Date.now(), path, status: res.status })
    }
  })
  return { seen, async stop() { running = false; await Promise.all(loops) } }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('a replica killed (-9) under edit and read load: editors and readers notice nothing', async (t) => {
  const primary = await ha.primaryPort()
  const replica = ha.serverPorts.find((p) => p !== primary)!
  const edits = editLoad(2, 250)
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
  const edits = editLoad(2, 300)
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
  t.ok(failoverMs < 15_000, `kill -9 of the primary to the first acknowledged write: ${failoverMs} ms`)

  const during = edits.answers.filter((a) => a.status !== 200)
  t.same(during.filter((a) => a.status !== 503 || !/^TESSERA_STORE_(UNAVAILABLE|NOT_REPLICATED)$/.test(a.code ?? '')).map((a) => `${a.status} ${a.code}`), [],
    `while there was no primary editors got only 503 TESSERA_STORE_UNAVAILABLE / _NOT_REPLICATED (${during.length} of them), no 500, no hang`)
  t.ok(Math.max(...edits.answers.map((a) => a.ms)) < 10_000, `the slowest answer took ${Math.max(...edits.answers.map((a) => a.ms))} ms`)
  t.same(reads.seen.filter((s) => s.status !== 200).map((s) => `${s.path} ${s.status}`), [], `readers saw 0 errors in ${reads.seen.length} reads`)

  await eventsSettled(stack.redisUrl, 30_000)
  const acked = [...edits.acked.values()].flat()
  t.ok(acked.length >= 10, `${acked.length} edits acknowledged`)
  let found = 0
  for (const article of articles) {
    const stored = (await (await fetch(`${contentApi}/articles/${article.id}`, { headers: editor })).json()) as Article
    const markers: string[] = stored.body.match(/edit-\d+-\d+/g) ?? []
    found += edits.acked.get(article.id)!.filter((m) => markers.includes(m)).length
    t.same(markers, edits.acked.get(article.id), `article ${article.id}: the store holds every edit acknowledged for it, in order`)
    const last = edits.acked.get(article.id)!.at(-1)!
    for (const edge of stack.edges) {
      const page = await get(edge.url, `/articles/${article.slug}`)
      t.ok(page.status === 200 && page.body.includes(last), `${edge.name} serves ${article.slug} with its last acknowledged edit (${last}): its purge reached it`)
    }
  }
  t.equal(found, acked.length, `edits acknowledged vs found after the failover: ${acked.length} / ${found}`)
  const processed = (await processedEvents()) - processedBefore
  t.ok(processed >= acked.length, `the purge service processed ${processed} change events (>= the ${acked.length} acknowledged edits), resuming from its group on the new primary`)
  t.comment(`failover ${failoverMs} ms; ${acked.length}/${found} edits; ${during.length} 503s to editors; ${reads.seen.filter((s) => s.status !== 200).length}/${reads.seen.length} read errors`)
})
