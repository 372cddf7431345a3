// Issue 15: Redis without a single point of failure. One stack with TESSERA_REDIS_HA (a primary, two replicas,
// three sentinels; every service through the sentinels) and two edge nodes:
//   1. the write cost of WAIT: PUTs of an article body, one at a time, to the content API (WAIT 1) and to a
//      second content API process on the same store with TESSERA_REDIS_WAIT_REPLICAS=0, alternating in rounds;
//   2. failovers: under steady edits (2 editors) and reads through both edges, kill -9 the primary; the time
//      until the first edit sent after the kill is acknowledged; after it settles, the edits acknowledged vs
//      found in the store, stale pages at the edges, reader errors. The killed server rejoins as a replica
//      before the next run.
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import type { Article } from '../../content/model.js'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import { startService } from '../../scripts/stack/services.js'
import { envFor } from '../../scripts/stack/stack.js'
import { startEdits, startReads, survivingEdits } from '../../test/support/failover-load.js'
import { eventsSettled } from '../../test/support/wait.js'
import { articleInput, contentApi, publishedArticles } from '../support/content.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { median, percentile, round } from '../support/stats.js'

type WaitSide = 'WAIT 1' | 'no WAIT'

/** `count` sequential PUTs of one article's body; each one's latency in ms. */
async function timedPuts(pool: Pool, token: string, article: Article, count: number, tag: string): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < count; i++) {
    const body = JSON.stringify({ ...articleInput(article), body: `${article.body}\n\nWAIT bench ${tag}-${i}.` })
    const started = performance.now()
    const res = await pool.request({ method: 'PUT', path: `/articles/${article.id}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`PUT /articles/${article.id} answered ${res.statusCode}: ${text.slice(0, 300)}`)
    out.push(performance.now() - started)
  }
  return out
}

async function waitCost(stack: BenchStack, article: Article) {
  const rounds = envInt('BENCH_ROUNDS', 5)
  const puts = envInt('BENCH_PUTS', 200)
  const [port] = await freePorts(1)
  const plain = await startService({
    name: 'content-no-wait',
    script: 'content/api/server.js',
    port,
    host: '127.0.0.1',
    env: { ...envFor(stack.config, stack.redisUrl, stack.secrets), TESSERA_REDIS_WAIT_REPLICAS: '0' },
    log: () => undefined,
  })
  const pools: Record<WaitSide, Pool> = {
    'WAIT 1': new Pool(`http://127.0.0.1:${stack.config.ports.content}`, { connections: 1 }),
    'no WAIT': new Pool(`http://127.0.0.1:${port}`, { connections: 1 }),
  }
  const samples: Record<WaitSide, number[]> = { 'WAIT 1': [], 'no WAIT': [] }
  const perRound: Array<Record<WaitSide, { p50Ms: number; p99Ms: number }> & { round: number; order: string }> = []
  try {
    for (const side of Object.keys(pools) as WaitSide[]) await timedPuts(pools[side], stack.secrets.editorToken, article, 20, `warm-${side}`)
    for (let r = 0; r < rounds; r++) {
      const order: WaitSide[] = r % 2 === 0 ? ['WAIT 1', 'no WAIT'] : ['no WAIT', 'WAIT 1']
      const thisRound = { round: r + 1, order: order.join(' then ') } as (typeof perRound)[number]
      for (const side of order) {
        const ms = await timedPuts(pools[side], stack.secrets.editorToken, article, puts, `${r}-${side}`)
        samples[side].push(...ms)
        thisRound[side] = { p50Ms: round(percentile(ms, 50)), p99Ms: round(percentile(ms, 99)) }
      }
      perRound.push(thisRound)
    }
  } finally {
    await Promise.all(Object.values(pools).map((p) => p.close()))
    await plain.stop()
  }
  const summary = (side: WaitSide) => ({ puts: samples[side].length, p50Ms: round(percentile(samples[side], 50)), p99Ms: round(percentile(samples[side], 99)) })
  return {
    rounds: perRound,
    withWait: summary('WAIT 1'),
    withoutWait: summary('no WAIT'),
    p50CostMs: round(median(perRound.map((r) => r['WAIT 1'].p50Ms - r['no WAIT'].p50Ms))),
  }
}

async function failover(stack: BenchStack, articles: Article[], run: number) {
  const ha = stack.redisHa!
  const contentUrl = `http://127.0.0.1:${stack.config.ports.content}`
  const load = { contentApi: contentUrl, token: stack.secrets.editorToken, articles }
  const pages = ['/', ...articles.map((a) => `/articles/${a.slug}`)]
  const edits = startEdits({ ...load, editors: 2, pauseMs: envInt('BENCH_EDIT_PAUSE_MS', 250), tag: String(run) })
  const reads = startReads({ edges: stack.edges, pages, readers: envInt('BENCH_READERS', 4) })
  await sleep(1500)
  const primary = await ha.primaryPort()
  await ha.kill(primary)
  const killedAt = Date.now()
  const deadline = killedAt + 60_000
  const firstWrite = () => edits.answers.find((a) => a.sentAt > killedAt && a.status === 200)
  while (!firstWrite() && Date.now() < deadline) await sleep(10)
  await sleep(2000)
  await Promise.all([edits.stop(), reads.stop()])
  const first = firstWrite()
  if (!first) throw new Error(`no write succeeded within 60 s of killing the primary (port ${primary}); stack log: ${stack.logFile}`)
  await eventsSettled(stack.redisUrl, 60_000)
  const survived = await survivingEdits({ ...load, edges: stack.edges, load: edits })
  const refused = edits.answers.filter((a) => a.status !== 200)
  const result = {
    run,
    killedPort: primary,
    promotedPort: await ha.primaryPort(),
    failoverMs: first.at - killedAt,
    acked: survived.acked,
    found: survived.found,
    stalePages: survived.stale.length,
    editor503s: refused.filter((a) => a.status === 503).length,
    editor503Codes: Object.fromEntries([...new Set(refused.map((a) => a.code))].map((c) => [c, refused.filter((a) => a.code === c).length])),
    // When, after the kill, editors were refused: the first and last refusal's answer time.
    refusedFromMs: refused.length ? Math.min(...refused.map((a) => a.at)) - killedAt : 0,
    refusedUntilMs: refused.length ? Math.max(...refused.map((a) => a.at)) - killedAt : 0,
    editorOtherErrors: refused.filter((a) => a.status !== 503).map((a) => `${a.status} ${a.code}`),
    slowestEditMs: Math.max(...edits.answers.map((a) => a.ms)),
    reads: reads.seen.length,
    readErrors: reads.seen.filter((s) => s.status !== 200).length,
  }
  await ha.restart(primary)
  await ha.settled()
  return result
}

export const redisFailover: Scenario = {
  name: 'redis-failover',
  description: 'TESSERA_REDIS_HA: kill -9 of the Redis primary under edit and read load (time to the first acknowledged write, acknowledged edits found after it), and the PUT latency cost of WAIT 1',
  async run() {
    const runs = envInt('BENCH_FAILOVERS', 5)
    return withBenchStack({ edges: 2, redisHa: true }, async (stack) => {
      const articles = (await publishedArticles(contentApi(stack))).slice(0, 4)
      const wait = await waitCost(stack, articles[3])
      const failovers: Array<Awaited<ReturnType<typeof failover>>> = []
      for (let run = 1; run <= runs; run++) failovers.push(await failover(stack, articles.slice(0, 3), run))
      const ms = failovers.map((f) => f.failoverMs)
      const sum = (pick: (f: (typeof failovers)[number]) => number) => failovers.reduce((n, f) => n + pick(f), 0)
      const totals = {
        failoverP50Ms: median(ms),
        failoverMaxMs: Math.max(...ms),
        acked: sum((f) => f.acked),
        found: sum((f) => f.found),
        stalePages: sum((f) => f.stalePages),
        editor503s: sum((f) => f.editor503s),
        editorOtherErrors: failovers.flatMap((f) => f.editorOtherErrors),
        reads: sum((f) => f.reads),
        readErrors: sum((f) => f.readErrors),
      }
      return {
        settings: { failovers: runs, rounds: envInt('BENCH_ROUNDS', 5), puts: envInt('BENCH_PUTS', 200), readers: envInt('BENCH_READERS', 4), editPauseMs: envInt('BENCH_EDIT_PAUSE_MS', 250), edges: 2 },
        figures: { wait, failovers, totals },
        summary: [
          `kill -9 of the primary -> first acknowledged write: p50 ${totals.failoverP50Ms} ms, max ${totals.failoverMaxMs} ms (${ms.join(', ')})`,
          `edits acknowledged / found after the failovers: ${totals.acked} / ${totals.found}; stale pages at the edges: ${totals.stalePages}`,
          `editors: ${totals.editor503s} answers 503 while there was no primary, ${totals.editorOtherErrors.length} other errors; readers: ${totals.readErrors} errors in ${totals.reads} reads`,
          `PUT latency, WAIT 1: p50 ${wait.withWait.p50Ms} ms, p99 ${wait.withWait.p99Ms} ms; no WAIT: p50 ${wait.withoutWait.p50Ms} ms, p99 ${wait.withoutWait.p99Ms} ms (${wait.withWait.puts} PUTs each; median per-round p50 cost ${wait.p50CostMs} ms)`,
        ],
      }
    })
  },
}
