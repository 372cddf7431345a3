// Issue 13: an article goes viral. Its readers ramp from 1x to 10x within seconds over the two edges a
// topology file names, while ops add a third edge node (a fresh varnishd: PUT /edges with a warm-up, then it
// takes readers) and two more article instances on other "hosts" (127.0.0.3, 127.0.0.4: the file, then
// POST /topology/reload); at the peak an editor keeps updating the story; then ops take them away again
// (DELETE /edges, the file, reload) while readers fall back to 1x. Per phase: reader requests per second, p50/p99,
// errors, origin fetches per reader request (every edge's VBE counters of the origin backends); and the origin
// fetches the joining node caused against the distinct objects it holds.
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import type { Article } from '../../content/model.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { eventsSettled, until } from '../../test/support/wait.js'
import { articleInput, type Call, contentApi, publishedArticles } from '../support/content.js'
import { readCounters } from '../support/edge-counters.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { percentile, round } from '../support/stats.js'

const ORIGIN_BACKEND = /^VBE\.[^.]+\.tessera_(layout|nav|sidebar|article|sections)(_\d+)?\.req$/
const THINK_MS = 25

type PhaseName = 'baseline 1x' | 'spike: ramp to 10x, edge3 and 2 article instances join' | 'peak 10x' | 'leave: ramp down, edge3 and the instances leave' | 'after 1x'

/** Origin fetches a node made (every VCL it has loaded, every instance of every origin). */
async function originFetches(node: EdgeNode): Promise<number> {
  let sum = 0
  for (const [name, value] of Object.entries(await readCounters(node))) if (ORIGIN_BACKEND.test(name)) sum += value
  return sum
}

function loadAverage(): number {
  return round(os.loadavg()[0]!)
}

/** Closed-loop readers with a think time: `target` workers, each on the next edge of the pool in turn. */
class Readers {
  private workers: Array<Promise<void>> = []
  private wanted = 0
  private readonly pools = new Map<string, Pool>()
  private nextEdge = 0
  samples: Array<{ at: number; ms: number; ok: boolean }> = []

  constructor(
    private readonly path: string,
    public edges: EdgeNode[],
  ) {}

  private pool(edge: EdgeNode): Pool {
    let pool = this.pools.get(edge.url)
    if (!pool) this.pools.set(edge.url, (pool = new Pool(edge.url, { connections: 64, keepAliveTimeout: 30_000, headersTimeout: 10_000, bodyTimeout: 10_000 })))
    return pool
  }

  set(count: number): void {
    this.wanted = count
    while (this.workers.length < count) {
      const id = this.workers.length
      this.workers.push(this.work(id))
    }
  }

  get count(): number {
    return this.wanted
  }

  private async work(id: number): Promise<void> {
    while (id < this.wanted) {
      const edge = this.edges[this.nextEdge++ % this.edges.length]!
      const started = performance.now()
      let ok = false
      try {
        const res = await this.pool(edge).request({ method: 'GET', path: this.path })
        await res.body.dump()
        ok = res.statusCode === 200
      } catch {
        ok = false
      }
      this.samples.push({ at: Date.now(), ms: performance.now() - started, ok })
      await sleep(THINK_MS)
    }
  }

  async stop(): Promise<void> {
    this.wanted = 0
    await Promise.all(this.workers)
    this.workers = []
    await Promise.all([...this.pools.values()].map((p) => p.close()))
  }
}

async function ramp(readers: Readers, from: number, to: number, seconds: number): Promise<void> {
  const steps = Math.max(1, seconds * 4)
  for (let i = 1; i <= steps; i++) {
    readers.set(Math.round(from + ((to - from) * i) / steps))
    await sleep(250)
  }
}

function topologyText(ports: Record<string, number>, articles: string[], edges: Array<{ name: string; port: number; admin: number; inner: number }>): string {
  return `services:
  layout: [127.0.0.1:${ports.layout}]
  nav: [127.0.0.1:${ports.nav}]
  sidebar: [127.0.0.1:${ports.sidebar}]
  article: [${articles.join(', ')}]
  sections: [127.0.0.1:${ports.sections}]
edges:
${edges.map((e) => `  - name: ${e.name}\n    url: http://127.0.0.1:${e.port}\n    admin: 127.0.0.1:${e.admin}\n    inner: 127.0.0.1:${e.inner}`).join('\n')}
purge_acl: [127.0.0.0/8]
`
}

async function run(stack: BenchStack, file: string, write: (articles: string[]) => void, baseArticle: string, extraArticles: Array<{ host: string; port: number }>) {
  const base = envInt('BENCH_BASE_READERS', 3)
  const factor = envInt('BENCH_SPIKE_FACTOR', 10)
  const steadySeconds = envInt('BENCH_SECONDS', 15)
  const rampSeconds = envInt('BENCH_RAMP_SECONDS', 5)
  const warmCount = envInt('BENCH_WARM', 20)
  const content: Call = contentApi(stack)
  const purge = (method: string, p: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${stack.config.ports.purge}${p}`, { method, headers: { authorization: `Bearer ${stack.secrets.opsToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }))
  await eventsSettled(stack.redisUrl)
  const viral: Article = (await publishedArticles(content))[0]!
  const page = `/articles/${viral.slug}`
  const readers = new Readers(page, [...stack.edges])
  const nodes: EdgeNode[] = [...stack.edges]
  const phases: Array<{ name: PhaseName; started: number; ended: number; originBefore: number; originAfter: number; load: number[]; ops: string[] }> = []
  const originNow = async () => (await Promise.all(nodes.map(originFetches))).reduce((a, b) => a + b, 0)
  const phase = async (name: PhaseName, body: (ops: string[]) => Promise<void>) => {
    const ops: string[] = []
    const record = { name, started: Date.now(), ended: 0, originBefore: await originNow(), originAfter: 0, load: [loadAverage()], ops }
    await body(ops)
    record.ended = Date.now()
    record.originAfter = await originNow()
    record.load.push(loadAverage())
    phases.push(record)
  }
  let editing = false
  let edits = 0
  const editor = async () => {
    while (editing) {
      await content('PUT', `/articles/${viral.id}`, { ...articleInput(viral), body: `${viral.body}\n\nLive update ${edits}.` })
      edits++
      await sleep(2000)
    }
  }

  let joining: EdgeNode | undefined
  let joiningOriginAtJoin = 0
  let joinReport: { warm?: unknown; bootMs?: number; putMs?: number; warmMs?: number } = {}
  readers.set(base)
  await sleep(2000) // warm the two edges
  readers.samples = []

  await phase('baseline 1x', async () => sleep(steadySeconds * 1000 * 0.6))

  await phase('spike: ramp to 10x, edge3 and 2 article instances join', async (ops) => {
    const rampDone = ramp(readers, base, base * factor, rampSeconds)
    const joinEdge = (async () => {
      const [port, adminPort, innerPort] = await freePorts(3)
      const started = Date.now()
      joining = await stack.startLooseEdge('edge3', { port, adminPort, innerPort })
      joiningOriginAtJoin = await originFetches(joining)
      const booted = Date.now()
      const put = await purge('PUT', '/edges/edge3', { url: joining.url, admin: `127.0.0.1:${adminPort}`, inner: `127.0.0.1:${innerPort}`, workdir: joining.workDir, warm: warmCount })
      if (put.status !== 201) throw new Error(`PUT /edges/edge3 answered ${put.status}: ${JSON.stringify(put.json)}`)
      const answered = Date.now()
      const ready = await until('edge3 ready', async () => {
        const { json } = await purge('GET', '/edges')
        const e = (json.edges as Array<{ name: string; state: string; warm?: unknown }>).find((x) => x.name === 'edge3')
        return e?.state === 'ready' && e
      }, 60_000)
      nodes.push(joining)
      readers.edges = [...readers.edges, joining]
      joinReport = { warm: ready.warm, bootMs: booted - started, putMs: answered - booted, warmMs: Date.now() - answered }
      ops.push(`edge3: varnishd booted in ${booted - started} ms, PUT /edges (its VCL loaded) answered in ${answered - booted} ms, warmed (${warmCount} asked) and ready ${Date.now() - answered} ms later, then in the readers' pool`)
    })()
    const addInstances = (async () => {
      for (const at of extraArticles) await stack.startInstance('article', at)
      write([baseArticle, ...extraArticles.map((a) => `${a.host}:${a.port}`)])
      const reload = await purge('POST', '/topology/reload')
      if (reload.status !== 200) throw new Error(`POST /topology/reload answered ${reload.status}: ${JSON.stringify(reload.json)}`)
      ops.push(`2 article instances started on 127.0.0.3/127.0.0.4, ${path.basename(file)} edited, POST /topology/reload: ${(reload.json as { vcl: string }).vcl}`)
    })()
    await Promise.all([rampDone, joinEdge, addInstances])
  })

  // What joining cost the origins: its warm-up and its first readers, before any purge reached it.
  const atJoin = joining ? { originFetches: (await originFetches(joining)) - joiningOriginAtJoin, objects: (await readCounters(joining))['MAIN.n_object'] ?? 0 } : { originFetches: 0, objects: 0 }
  await phase('peak 10x', async () => {
    editing = true
    const updates = editor()
    await sleep(steadySeconds * 1000)
    editing = false
    await updates
  })
  const joiningCounters = joining ? await readCounters(joining) : {}
  const joiningOrigin = joining ? (await originFetches(joining)) - joiningOriginAtJoin : 0

  await phase('leave: ramp down, edge3 and the instances leave', async (ops) => {
    readers.edges = readers.edges.filter((e) => e !== joining)
    await sleep(500) // requests already sent to edge3 finish
    const del = await purge('DELETE', '/edges/edge3')
    ops.push(`edge3 out of the readers' pool, DELETE /edges: ${del.status} (${(del.json as { droppedPurges?: number }).droppedPurges ?? '?'} queued purges dropped)`)
    write([baseArticle])
    const reload = await purge('POST', '/topology/reload')
    if (reload.status !== 200) throw new Error(`POST /topology/reload answered ${reload.status}: ${JSON.stringify(reload.json)}`)
    for (let i = 0; i < extraArticles.length; i++) await stack.killInstance('article', stack.instances.article.length - 1 - i)
    ops.push('the 2 article instances taken out of the file, POST /topology/reload, then stopped')
    await ramp(readers, base * factor, base, rampSeconds)
  })

  await phase('after 1x', async () => sleep(steadySeconds * 1000 * 0.6))
  await readers.stop()

  const perPhase = phases.map((p) => {
    const samples = readers.samples.filter((s) => s.at >= p.started && s.at < p.ended)
    const ms = samples.map((s) => s.ms)
    const seconds = (p.ended - p.started) / 1000
    const requests = samples.length
    const originFetchesInPhase = p.originAfter - p.originBefore
    return {
      phase: p.name,
      seconds: round(seconds),
      readerRequests: requests,
      readerRequestsPerSec: round(requests / seconds),
      p50Ms: round(percentile(ms, 50)),
      p99Ms: round(percentile(ms, 99)),
      errors: samples.filter((s) => !s.ok).length,
      originFetches: originFetchesInPhase,
      originFetchesPerReaderRequest: round(originFetchesInPhase / Math.max(1, requests)),
      originFetchesPer1000ReaderRequests: round((1000 * originFetchesInPhase) / Math.max(1, requests)),
      loadAverage1m: p.load,
      ops: p.ops,
    }
  })
  const joiningNode = {
    ...joinReport,
    originFetchesUntilThePeak: atJoin.originFetches,
    distinctObjectsHeldAtThePeak: atJoin.objects,
    originFetches: joiningOrigin,
    distinctObjectsHeld: joiningCounters['MAIN.n_object'] ?? 0,
    misses: joiningCounters['MAIN.cache_miss'] ?? 0,
    hits: joiningCounters['MAIN.cache_hit'] ?? 0,
    liveUpdatesAtThePeak: edits,
    goal: 'origin fetches until the peak <= distinct objects held (each live update at the peak then costs one fetch per object it purged)',
    goalMet: atJoin.originFetches <= atJoin.objects,
  }
  return { viralPage: page, edits, perPhase, joiningNode }
}

export const viralSpike: Scenario = {
  name: 'viral-spike',
  description: "one article's readers ramp 1x to 10x while a third edge (PUT /edges) and two article instances (topology reload) join, then leave",
  async run() {
    const dir = os.tmpdir()
    const file = path.join(dir, `tessera-viral-spike-${process.pid}.yaml`)
    const [layout, nav, sidebar, article, sections, e1, a1, i1, e2, a2, i2, x1, x2] = await freePorts(13)
    const ports = { layout, nav, sidebar, article, sections }
    const edges = [
      { name: 'edge1', port: e1, admin: a1, inner: i1 },
      { name: 'edge2', port: e2, admin: a2, inner: i2 },
    ]
    const write = (articles: string[]) => writeFileSync(file, topologyText(ports, articles, edges))
    write([`127.0.0.1:${article}`])
    const extra = [
      { host: '127.0.0.3', port: x1 },
      { host: '127.0.0.4', port: x2 },
    ]
    const figures = await withBenchStack({ topologyFile: file }, (stack) => run(stack, file, write, `127.0.0.1:${article}`, extra))
    const line = (p: (typeof figures.perPhase)[number]) =>
      `  ${p.phase.padEnd(52)} ${String(p.readerRequestsPerSec).padStart(7)} req/s  p50 ${p.p50Ms} ms  p99 ${p.p99Ms} ms  errors ${p.errors}  origin fetches ${p.originFetches} (${p.originFetchesPer1000ReaderRequests} per 1,000 reads)  load ${p.loadAverage1m.join('->')}`
    const j = figures.joiningNode
    return {
      settings: {
        baseReaders: envInt('BENCH_BASE_READERS', 3),
        spikeFactor: envInt('BENCH_SPIKE_FACTOR', 10),
        seconds: envInt('BENCH_SECONDS', 15),
        rampSeconds: envInt('BENCH_RAMP_SECONDS', 5),
        warm: envInt('BENCH_WARM', 20),
        thinkMs: THINK_MS,
      },
      figures,
      summary: [
        `viral page ${figures.viralPage}, ${figures.edits} live updates at the peak`,
        ...figures.perPhase.map(line),
        ...figures.perPhase.flatMap((p) => p.ops.map((o) => `    ${o}`)),
        `joining node edge3: warm-up and first readers ${j.originFetchesUntilThePeak} origin fetches for ${j.distinctObjectsHeldAtThePeak} distinct objects held (goal <=: ${j.goalMet ? 'met' : 'NOT met'}); with the ${j.liveUpdatesAtThePeak} live updates at the peak ${j.originFetches} in all for ${j.distinctObjectsHeld} objects (${j.misses} misses, ${j.hits} hits); warm ${JSON.stringify(j.warm)}`,
      ],
    }
  },
}
