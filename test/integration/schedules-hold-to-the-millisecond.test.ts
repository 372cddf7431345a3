// "Appears/expires at T" through the real edge: a block that starts at T and one that ends at T, both 4.6 s
// ahead, seen by readers polling the slot fragment and the home page (page tier) around T with the debug token.
// The bound is strict (nothing before T, everything from T + 50 ms); a loaded machine may only make a round
// inconclusive (no poll sent just before T or just after T + 50 ms), and such a round is run again.
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { callJson } from '../support/api.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled, until } from '../support/wait.js'

const stack = await startTestStack(t)
const edge = stack.edges[0]
const api = `http://127.0.0.1:${stack.config.ports.content}`
const auth = { authorization: `Bearer ${stack.secrets.editorToken}` }
const debug = { 'x-tessera-debug': stack.secrets.debugToken }

const AHEAD_MS = 4600
const BOUND_MS = 50
const URLS = ['/fragments/sections/main', '/']

type State = 'before' | 'after' | 'mixed'
interface Sample { sent: number; received: number; state: State; cache: string | null }

const clock = () => performance.timeOrigin + performance.now() // ms with fractions, the same clock as Date.now()

async function read(path: string, tag: string): Promise<Sample> {
  const sent = clock()
  const res = await fetch(edge.url + path, { headers: debug })
  const body = await res.text()
  const received = clock()
  const appears = body.includes(`appears-${tag}`)
  const expires = body.includes(`expires-${tag}`)
  const state: State = !appears && expires ? 'before' : appears && !expires ? 'after' : 'mixed'
  return { sent, received, state, cache: res.headers.get('x-tessera-cache') }
}

async function putBlock(id: string, block: Record<string, unknown>): Promise<void> {
  const { status, json } = await callJson(api, 'PUT', `/blocks/${id}`, block, auth)
  if (status !== 201 && status !== 200) throw new Error(`PUT /blocks/${id}: ${status} ${JSON.stringify(json)}`)
}

/** One schedule at T; the samples of each URL around it, or undefined when the set-up itself ran past T. */
async function round(t: Test, n: number): Promise<{ at: number; samples: Record<string, Sample[]> } | undefined> {
  const tag = `${n}-${randomUUID().slice(0, 8)}`
  const at = Date.now() + AHEAD_MS
  const iso = new Date(at).toISOString()
  await putBlock(`sched-in-${tag}`, { slot: 'main', kind: 'text', content: `appears-${tag}`, position: 0, startsAt: iso })
  await putBlock(`sched-out-${tag}`, { slot: 'main', kind: 'text', content: `expires-${tag}`, position: 1, endsAt: iso })
  await eventsSettled(stack.redisUrl)
  // The edge holds copies made after the writes (their purge is acknowledged), clamped to T.
  for (const path of URLS) {
    await until(`a cached copy of ${path} showing the block that expires`, async () => {
      const sample = await read(path, tag)
      return sample.state === 'before' && sample.cache === 'hit'
    }, 20_000)
  }
  const asked = clock()
  const ttlLeft = Number((await fetch(edge.url + URLS[0], { headers: debug })).headers.get('x-tessera-ttl-left'))
  if (Date.now() > at - 300) return undefined
  t.ok(ttlLeft > 0 && ttlLeft * 1000 <= at - asked + 1, `round ${n}: the slot's copy expires at T, not at a whole second (${ttlLeft} s left ${(at - asked).toFixed(1)} ms before T)`)
  await new Promise((r) => setTimeout(r, at - 150 - Date.now()))
  const samples: Record<string, Sample[]> = {}
  await Promise.all(URLS.map(async (path) => {
    const list: Sample[] = (samples[path] = [])
    while (clock() < at + 300) list.push(await read(path, tag))
  }))
  return { at, samples }
}

t.test('a block starting at T is at the edge within 50 ms of T, one ending at T is gone by then, never earlier', async (t) => {
  let conclusive = 0
  for (let n = 1; n <= 4 && conclusive === 0; n++) {
    const result = await round(t, n)
    if (!result) {
      t.comment(`round ${n}: the set-up ran past T on this machine; again`)
      continue
    }
    const { at, samples } = result
    let evidence = true
    for (const path of URLS) {
      const list = samples[path]
      const early = list.filter((s) => s.received < at && s.state !== 'before')
      const late = list.filter((s) => s.sent > at + BOUND_MS && s.state !== 'after')
      t.same(early.map((s) => `${(s.received - at).toFixed(1)} ms: ${s.state}`), [], `${path}: nothing changes before T`)
      t.same(late.map((s) => `${(s.sent - at).toFixed(1)} ms: ${s.state}`), [], `${path}: every read sent from T + ${BOUND_MS} ms on shows the change`)
      t.same(list.filter((s) => s.state === 'mixed').length, 0, `${path}: never one block without the other`)
      const lastBefore = list.filter((s) => s.state === 'before').at(-1)
      const firstAfter = list.find((s) => s.state === 'after')
      t.comment(`round ${n} ${path}: ${list.length} reads; last old one sent at T${lastBefore ? (lastBefore.sent - at).toFixed(1) : '?'} ms, first new one answered at T+${firstAfter ? (firstAfter.received - at).toFixed(1) : '?'} ms`)
      // Conclusive only with reads on both sides of the window: just before T, and soon after T + 50 ms.
      if (!list.some((s) => s.sent >= at - 100 && s.received < at) || !list.some((s) => s.sent > at + BOUND_MS && s.sent <= at + 150)) evidence = false
    }
    if (evidence) conclusive++
    else t.comment(`round ${n}: the machine left a gap in the polling around T; again`)
  }
  t.ok(conclusive > 0, 'a round had reads on both sides of the window')
})
