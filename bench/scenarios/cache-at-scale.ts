// Issue 19: the cache at a magazine's real size. 100,000 articles in Redis (written straight into the store,
// support/archive.ts), 20,000 article pages warm on two edge nodes with the page tier on, Zipf readers; then:
//   1. one nav edit: time until every node acknowledged the PURGE (xkey takes every page copy, since every page
//      includes nav), origin fetches while the pages re-assemble (goal: one nav fetch per node, not one per
//      page), reader p99 and errors in the seconds after it (goal: 0 errors, p99 < 50 ms), and how many
//      assemblies per second the edge sustains re-assembling every page from cached fragments;
//   2. storage smaller than the working set (one node, TESSERA_EDGE_STORAGE_MB=64, Zipf over all 100,000
//      pages): hit ratio, evictions (MAIN.n_lru_nuked), and no stale read after a purge of a page that was
//      evicted and fetched again;
//   3. memory: varnishd RSS per cached object and per page with the tier on and off (a third stack, tier off,
//      the same pages), the xkey index's share (XKEY.g_bytes), and Redis memory of the key -> URL index
//      (cache/key-index.ts);
//   4. the nav edits of 1 again on two nodes with nav late-bound (TESSERA_PAGE_TIER_LATE_INCLUDES=/fragments/nav):
//      the copies keep nav's tag, so the edit purges nav, not the page copies.
// Knobs: BENCH_ARTICLES (100000), BENCH_PAGES (20000), BENCH_SECONDS (12: each reader phase),
// BENCH_CONNECTIONS (32 readers in all), BENCH_SMALL_STORAGE_MB (64), BENCH_WARM_CONCURRENCY (16 per node),
// BENCH_READ_RATES (100,300,1000: the open-loop nav edits, requests/s per node).
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { keyIndexSize } from '../../cache/key-index.js'
import type { PurgeRecord } from '../../purge-service/purger.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { acknowledgedPurge, eventsSettled } from '../../test/support/wait.js'
import { writeArchive, type Archive } from '../support/archive.js'
import { contentApi } from '../support/content.js'
import { backendFetches, delta, settledCounters } from '../support/edge-counters.js'
import { rssBytesOf } from '../support/process-cpu.js'
import { seededRandom, zipfSampler } from '../support/random.js'
import { type ReaderResult, runPacedReaders, runReaders } from '../support/readers.js'
import { envInt, envRates, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { percentile, round } from '../support/stats.js'

const ZIPF_S = 1.0
const MB = 1024 * 1024

const pagePath = (a: { slug: string }) => `/articles/${a.slug}`

/** Fetches every path once on `edge`, `concurrency` at a time: a cold fill (or a re-assembly) of each page. */
async function fetchAll(edge: EdgeNode, paths: string[], concurrency: number): Promise<ReaderResult> {
  let next = 0
  return runReaders({ base: edge.url, workers: concurrency, seconds: 3_600, maxRequests: paths.length, next: () => paths[next++ % paths.length] })
}

/** Zipf readers over `paths` (rank 0 the most read), spread over the edges, for `seconds`. */
function zipfReaders(edges: EdgeNode[], paths: string[], workers: number, seconds: number, seed: number): Promise<ReaderResult[]> {
  return Promise.all(
    edges.map((edge, i) => {
      const rank = zipfSampler(paths.length, ZIPF_S, seededRandom(seed + i))
      return runReaders({ base: edge.url, workers: Math.max(1, Math.round(workers / edges.length)), seconds, maxRequests: 10_000_000, next: () => paths[rank()] })
    }),
  )
}

/** Zipf readers arriving at `ratePerNode` requests/s on each edge (an open loop, support/readers.ts). */
function pacedZipfReaders(edges: EdgeNode[], paths: string[], ratePerNode: number, seconds: number, seed: number): Promise<ReaderResult[]> {
  return Promise.all(
    edges.map((edge, i) => {
      const rank = zipfSampler(paths.length, ZIPF_S, seededRandom(seed + i))
      return runPacedReaders({ base: edge.url, rate: ratePerNode, seconds, connections: 64, next: () => paths[rank()] })
    }),
  )
}

/** p50/p99/errors of the requests a reader run sent in [fromMs, toMs) (ms after its start). */
function window(results: ReaderResult[], fromMs: number, toMs: number): { requests: number; errors: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const latencies: number[] = []
  let errors = 0
  for (const r of results) {
    r.sentAtMs.forEach((at, i) => at >= fromMs && at < toMs && latencies.push(r.latenciesMs[i]))
    errors += r.errorsAtMs.filter((at) => at >= fromMs && at < toMs).length
  }
  return { requests: latencies.length, errors, p50Ms: round(percentile(latencies, 50)), p99Ms: round(percentile(latencies, 99)), maxMs: round(latencies.reduce((a, b) => Math.max(a, b), -Infinity)) }
}

const totals = (results: ReaderResult[]) => window(results, 0, Infinity)

/** What one node holds: objects, storage bytes, the xkey index, and its cache process's RSS. */
async function memoryOf(edge: EdgeNode): Promise<{ objects: number; storageBytes: number; xkeyBytes: number; xkeyKeys: number; rssBytes: number }> {
  const c = await settledCounters(edge)
  return {
    objects: c['MAIN.n_object'] ?? 0,
    storageBytes: c['SMA.s0.g_bytes'] ?? 0,
    xkeyBytes: c['XKEY.g_bytes'] ?? 0,
    xkeyKeys: c['XKEY.g_keys'] ?? 0,
    rssBytes: rssBytesOf(await edge.varnishd.workerPid()),
  }
}

/** Redis memory of the key -> URL index (cache/key-index.ts). */
async function keyIndexMemory(redisUrl: string): ReturnType<typeof keyIndexSize> {
  const redis = new Redis(redisUrl)
  try {
    return await keyIndexSize(redis)
  } finally {
    redis.disconnect()
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)
const perNode = <T>(edges: EdgeNode[], f: (edge: EdgeNode) => Promise<T>) => Promise.all(edges.map(f))

async function archiveOn(stack: BenchStack, count: number): Promise<Archive> {
  await eventsSettled(stack.redisUrl)
  return writeArchive(stack.redisUrl, { count, now: new Date() })
}

async function debugRead(stack: BenchStack, edge: EdgeNode, path: string): Promise<{ status: number; cache: string | null; body: string }> {
  const res = await fetch(edge.url + path, { headers: { 'x-tessera-debug': stack.secrets.debugToken }, signal: AbortSignal.timeout(30_000) })
  return { status: res.status, cache: res.headers.get('x-tessera-cache'), body: await res.text() }
}

interface NavEdit {
  during: ReaderResult[]
  /** When the edit was sent, ms after the readers started. */
  editSentMs: number
  purge: PurgeRecord
  ackedAfterMs: number
  navLabel: string
}

/** Edits the nav's last label a third into `readers` (started here), and waits for the purge's acknowledgement. */
async function navEditDuring(stack: BenchStack, seconds: number, readers: () => Promise<ReaderResult[]>): Promise<NavEdit> {
  const content = contentApi(stack)
  const nav = await content<{ entries: Array<{ label: string; href: string }> }>('GET', '/nav')
  const navLabel = `${nav.entries.at(-1)!.label.replace(/ \(edited \d+\)$/, '')} (edited ${Date.now()})`
  const started = performance.now()
  const [during, edit] = await Promise.all([
    readers(),
    (async () => {
      await sleep(Math.round((seconds * 1000) / 3))
      const since = Date.now()
      const editSentMs = performance.now() - started
      await content('PUT', '/nav', { entries: [...nav.entries.slice(0, -1), { ...nav.entries.at(-1)!, label: navLabel }] })
      const purge = await acknowledgedPurge({ redisUrl: stack.redisUrl, purgeApi: `http://127.0.0.1:${stack.config.ports.purge}`, token: stack.secrets.editorToken }, 'nav', since)
      return { editSentMs, purge, ackedAfterMs: Date.parse(purge.ackedAt) - since }
    })(),
  ])
  return { during, navLabel, ...edit }
}

/** The nav edit under paced Zipf readers at each rate (requests/s per node); `between(i)` runs before rate i. */
async function pacedNavEdits(stack: BenchStack, pages: string[], rates: number[], seconds: number, between: (i: number) => Promise<unknown> | undefined, noteLoad: (rate: number) => void) {
  const paced = []
  for (const [i, rate] of rates.entries()) {
    await between(i)
    noteLoad(rate)
    const before = await perNode(stack.edges, settledCounters)
    const edit = await navEditDuring(stack, seconds, () => pacedZipfReaders(stack.edges, pages, rate, seconds, 10 + i))
    const d = (await perNode(stack.edges, settledCounters)).map((after, n) => delta(before[n], after))
    paced.push({
      ratePerNode: rate,
      ackedAfterMs: edit.ackedAfterMs,
      before: window(edit.during, 0, edit.editSentMs),
      firstSecondsAfter: window(edit.during, edit.editSentMs, edit.editSentMs + 3_000),
      after: window(edit.during, edit.editSentMs, Infinity),
      assemblies: d.map((c) => backendFetches(c).pages ?? 0),
      originFetches: d.map(backendFetches),
      objectsPurged: d.map((c) => c['MAIN.n_obj_purged'] ?? 0),
    })
  }
  return paced
}

export const cacheAtScale: Scenario = {
  name: 'cache-at-scale',
  description:
    "a magazine's real size: 100,000 articles, 20,000 pages warm on two nodes under Zipf reads; a nav edit (purge time, origin fetches, reader p99), a cache smaller than the working set, memory per object",
  async run() {
    const articleCount = envInt('BENCH_ARTICLES', 100_000)
    const pageCount = Math.min(articleCount, envInt('BENCH_PAGES', 20_000))
    const seconds = envInt('BENCH_SECONDS', 12)
    const connections = envInt('BENCH_CONNECTIONS', 32)
    const smallStorageMb = envInt('BENCH_SMALL_STORAGE_MB', 64)
    const warmConcurrency = envInt('BENCH_WARM_CONCURRENCY', 16)
    const readRates = envRates('BENCH_READ_RATES', [100, 300, 1000])
    const load = () => (process.env.BENCH_LOAD_AVERAGE ?? '') || loadAverage()
    const loads: Record<string, string> = {}

    // ---------------------------------------------------------------- 1. two nodes, tier on: warm, nav edit
    const big = 2048
    const scale = await withBenchStack({ edges: 2, pageTier: true, storageMb: big }, async (stack) => {
      const archive = await archiveOn(stack, articleCount)
      const pages = archive.articles.slice(0, pageCount).map(pagePath)
      const memBefore = await perNode(stack.edges, memoryOf)
      const keyIndexBefore = await keyIndexMemory(stack.redisUrl)

      loads.warm = load()
      const warmStart = performance.now()
      const warm = await perNode(stack.edges, (edge) => fetchAll(edge, pages, warmConcurrency))
      const warmSeconds = (performance.now() - warmStart) / 1000
      const memWarm = await perNode(stack.edges, memoryOf)
      const keyIndexWarm = await keyIndexMemory(stack.redisUrl)

      // Steady Zipf reads (nothing changes): the hit ratio and latency the edit is compared with.
      loads.steady = load()
      const steadyBefore = await perNode(stack.edges, settledCounters)
      const steady = await zipfReaders(stack.edges, pages, connections, seconds, 1)
      const steadyDelta = (await perNode(stack.edges, settledCounters)).map((after, i) => delta(steadyBefore[i], after))
      const keyIndexAfterReads = await keyIndexMemory(stack.redisUrl)

      // The nav edit, a third into a Zipf read run.
      loads.navEdit = load()
      const before = await perNode(stack.edges, settledCounters)
      const { during, editSentMs, purge, ackedAfterMs, navLabel } = await navEditDuring(stack, seconds, () => zipfReaders(stack.edges, pages, connections, seconds, 2))
      const duringDelta = (await perNode(stack.edges, settledCounters)).map((after, i) => delta(before[i], after))

      // Every page once more on each node: those the readers did not re-assemble are assembled now, from
      // cached fragments (the shells and bodies were not purged): the rate the edge sustains.
      loads.reassembly = load()
      const reBefore = await perNode(stack.edges, settledCounters)
      const reStart = performance.now()
      const reassembly = await perNode(stack.edges, (edge) => fetchAll(edge, pages, warmConcurrency))
      const reSeconds = (performance.now() - reStart) / 1000
      const reDelta = (await perNode(stack.edges, settledCounters)).map((after, i) => delta(reBefore[i], after))
      const stillStale = (await Promise.all(stack.edges.map((edge) => debugRead(stack, edge, pages[pages.length - 1])))).filter((r) => !r.body.includes(navLabel)).length

      // The nav edit again, now with readers arriving at a fixed rate (an open loop: a site's readers do not
      // wait for each other), at each rate of BENCH_READ_RATES per node; every page re-assembled before the next.
      const paced = await pacedNavEdits(stack, pages, readRates, seconds, (i) => (i > 0 ? perNode(stack.edges, (edge) => fetchAll(edge, pages, warmConcurrency)) : undefined), (rate) => (loads[`paced${rate}`] = load()))

      return {
        archive: { articles: archive.articles.length, writeSeconds: round(archive.seconds), redisBytes: archive.redisBytes },
        warm: {
          pagesPerNode: pages.length,
          seconds: round(warmSeconds),
          assembliesPerSecPerNode: round(pages.length / warmSeconds),
          errors: sum(warm.map((w) => w.errors)),
          p99Ms: totals(warm).p99Ms,
        },
        memory: { before: memBefore, warm: memWarm },
        keyIndex: { before: keyIndexBefore, warm: keyIndexWarm, afterReads: keyIndexAfterReads },
        steady: {
          ...totals(steady),
          hitRatio: steadyDelta.map((d) => round((d['MAIN.cache_hit'] ?? 0) / ((d['MAIN.cache_hit'] ?? 0) + (d['MAIN.cache_miss'] ?? 0)))),
          requestsPerSec: round(sum(steady.map((r) => r.requests / r.seconds))),
        },
        navEdit: {
          editSentAtMs: Math.round(editSentMs),
          ackedAfterMs,
          purgeMs: purge ? Date.parse(purge.ackedAt) - Date.parse(purge.at) : NaN,
          nodes: purge?.nodes.map((n) => ({ node: n.node, ok: n.ok, purged: n.purged, ms: n.ms })),
          before: window(during, 0, editSentMs),
          firstSecondsAfter: window(during, editSentMs, editSentMs + 3_000),
          after: window(during, editSentMs, Infinity),
          originFetches: duringDelta.map(backendFetches),
          objectsPurged: duringDelta.map((d) => d['MAIN.n_obj_purged'] ?? 0),
        },
        reassembly: {
          seconds: round(reSeconds),
          assemblies: reDelta.map((d) => backendFetches(d).pages ?? 0),
          assembliesPerSecPerNode: round(sum(reDelta.map((d) => backendFetches(d).pages ?? 0)) / stack.edges.length / reSeconds),
          originFetches: reDelta.map(backendFetches),
          errors: sum(reassembly.map((r) => r.errors)),
          p99Ms: totals(reassembly).p99Ms,
          nodesStillShowingOldNav: stillStale,
        },
        paced,
      }
    })

    // ------------------------------------------------------ 2. one node, storage smaller than the working set
    const small = await withBenchStack({ edges: 1, pageTier: true, storageMb: smallStorageMb }, async (stack) => {
      const archive = await archiveOn(stack, articleCount)
      const pages = archive.articles.map(pagePath)
      const [edge] = stack.edges
      // The victim: a page read once, then pushed out by others, then read again (a miss: fetched again).
      const victim = archive.articles[archive.articles.length - 1]
      await debugRead(stack, edge, pagePath(victim))
      loads.smallStorage = load()
      const c0 = await settledCounters(edge)
      const startedAt = performance.now()
      const readers = await zipfReaders([edge], pages, connections, seconds * 2, 3)
      const c1 = await settledCounters(edge)
      const d = delta(c0, c1)
      // Evicted yet? Fill with pages from the cold end until it is (a read of the victim would refetch it).
      let filled = 0
      for (let i = archive.articles.length - 2; (await settledCounters(edge))['MAIN.n_lru_nuked'] === 0 && i > 0 && filled < 20_000; i -= 50) {
        await fetchAll(edge, archive.articles.slice(i - 50, i).map(pagePath), 8)
        filled += 50
      }
      const again = await debugRead(stack, edge, pagePath(victim))
      const refetched = await debugRead(stack, edge, pagePath(victim))
      // Now an edit of the victim: after the acknowledgement the page must show it.
      const content = contentApi(stack)
      const stored = await content<Record<string, unknown>>('GET', `/articles/${victim.id}`)
      const since = Date.now()
      const title = `Evicted and refetched ${since}`
      const { id: _id, updatedAt: _u, ...input } = stored
      await content('PUT', `/articles/${victim.id}`, { ...input, title })
      await acknowledgedPurge({ redisUrl: stack.redisUrl, purgeApi: `http://127.0.0.1:${stack.config.ports.purge}`, token: stack.secrets.editorToken }, `article:${victim.id}`, since)
      const afterEdit = await debugRead(stack, edge, pagePath(victim))
      const finalCounters = await settledCounters(edge)
      return {
        storageMb: smallStorageMb,
        articles: archive.articles.length,
        readSeconds: round((performance.now() - startedAt) / 1000),
        readers: { ...totals(readers), requestsPerSec: round(sum(readers.map((r) => r.requests / r.seconds))) },
        hitRatio: round((d['MAIN.cache_hit'] ?? 0) / ((d['MAIN.cache_hit'] ?? 0) + (d['MAIN.cache_miss'] ?? 0))),
        nLruNuked: finalCounters['MAIN.n_lru_nuked'] ?? 0,
        nLruNukedDuringReads: d['MAIN.n_lru_nuked'] ?? 0,
        objects: finalCounters['MAIN.n_object'] ?? 0,
        storageBytes: finalCounters['SMA.s0.g_bytes'] ?? 0,
        allocFailures: finalCounters['SMA.s0.c_fail'] ?? 0,
        victim: {
          path: pagePath(victim),
          secondRead: again.cache,
          thirdRead: refetched.cache,
          afterEditStatus: afterEdit.status,
          afterEditShowsEdit: afterEdit.body.includes(title),
          afterEditCache: afterEdit.cache,
        },
      }
    })

    // ------------------------------------------------------------------- 3. memory with the tier off
    const memPages = Math.min(pageCount, envInt('BENCH_MEMORY_PAGES', pageCount))
    const tierOff = await withBenchStack({ edges: 1, pageTier: false, storageMb: big }, async (stack) => {
      const archive = await archiveOn(stack, articleCount)
      const pages = archive.articles.slice(0, memPages).map(pagePath)
      const [edge] = stack.edges
      const before = await memoryOf(edge)
      loads.tierOffWarm = load()
      await fetchAll(edge, pages, warmConcurrency)
      return { pages: pages.length, before, warm: await memoryOf(edge) }
    })

    // ------------------------------------------- 4. two nodes, tier on, nav late-bound: the same nav edits
    // (TESSERA_PAGE_TIER_LATE_INCLUDES: the copies keep nav's tag and the front resolves it on each delivery).
    const late = await withBenchStack({ edges: 2, pageTier: true, storageMb: big, lateIncludes: ['/fragments/nav'] }, async (stack) => {
      const archive = await archiveOn(stack, articleCount)
      const pages = archive.articles.slice(0, pageCount).map(pagePath)
      const memBefore = await memoryOf(stack.edges[0])
      loads.lateWarm = load()
      const warmStart = performance.now()
      await perNode(stack.edges, (edge) => fetchAll(edge, pages, warmConcurrency))
      const warmSeconds = (performance.now() - warmStart) / 1000
      const memWarm = await memoryOf(stack.edges[0])
      loads.lateNavEdit = load()
      const before = await perNode(stack.edges, settledCounters)
      const edit = await navEditDuring(stack, seconds, () => zipfReaders(stack.edges, pages, connections, seconds, 2))
      const d = (await perNode(stack.edges, settledCounters)).map((after, i) => delta(before[i], after))
      const stillStale = (await Promise.all(stack.edges.map((edge) => debugRead(stack, edge, pages[pages.length - 1])))).filter((r) => !r.body.includes(edit.navLabel)).length
      // Every page warm again before each rate, as on the first stack (copies expire with the sidebar's TTL).
      const paced = await pacedNavEdits(stack, pages, readRates, seconds, () => perNode(stack.edges, (edge) => fetchAll(edge, pages, warmConcurrency)), (rate) => (loads[`latePaced${rate}`] = load()))
      return {
        warm: { seconds: round(warmSeconds), assembliesPerSecPerNode: round(pages.length / warmSeconds) },
        memory: { before: memBefore, warm: memWarm },
        navEdit: {
          ackedAfterMs: edit.ackedAfterMs,
          nodes: edit.purge.nodes.map((n) => ({ node: n.node, ok: n.ok, purged: n.purged, ms: n.ms })),
          before: window(edit.during, 0, edit.editSentMs),
          firstSecondsAfter: window(edit.during, edit.editSentMs, edit.editSentMs + 3_000),
          after: window(edit.during, edit.editSentMs, Infinity),
          requestsPerSec: round(sum(edit.during.map((r) => r.requests / r.seconds))),
          originFetches: d.map(backendFetches),
          objectsPurged: d.map((c) => c['MAIN.n_obj_purged'] ?? 0),
          nodesShowingOldNavAfter: stillStale,
        },
        paced,
      }
    })

    const perObject = (b: { objects: number; rssBytes: number; xkeyBytes: number; storageBytes: number }, a: typeof b) => ({
      objects: a.objects - b.objects,
      rssBytesPerObject: Math.round((a.rssBytes - b.rssBytes) / (a.objects - b.objects)),
      storageBytesPerObject: Math.round((a.storageBytes - b.storageBytes) / (a.objects - b.objects)),
      xkeyBytesPerObject: Math.round((a.xkeyBytes - b.xkeyBytes) / (a.objects - b.objects)),
      xkeyShareOfRss: round((a.xkeyBytes - b.xkeyBytes) / (a.rssBytes - b.rssBytes)),
    })
    const on = perObject(scale.memory.before[0], scale.memory.warm[0])
    const off = perObject(tierOff.before, tierOff.warm)
    const onPerPage = Math.round((scale.memory.warm[0].rssBytes - scale.memory.before[0].rssBytes) / pageCount)
    const offPerPage = Math.round((tierOff.warm.rssBytes - tierOff.before.rssBytes) / tierOff.pages)
    const latePerPage = Math.round((late.memory.warm.rssBytes - late.memory.before.rssBytes) / pageCount)
    const memory = { tierOn: { ...on, rssBytesPerPage: onPerPage }, tierOff: { ...off, rssBytesPerPage: offPerPage }, navLateBound: { ...perObject(late.memory.before, late.memory.warm), rssBytesPerPage: latePerPage } }
    const ki = scale.keyIndex
    const nav = scale.navEdit
    const fetchesLine = (f: Array<Record<string, number>>) => f.map((n, i) => `edge${i + 1} ${Object.entries(n).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`).join('; ')

    return {
      settings: { articles: articleCount, pages: pageCount, seconds, connections, readRatesPerNode: readRates.join(','), zipfS: ZIPF_S, smallStorageMb, warmConcurrency, memoryPages: memPages, ...Object.fromEntries(Object.entries(loads).map(([k, v]) => [`load_${k}`, v])) },
      figures: { scale, small, tierOff, late, memory },
      summary: [
        `archive: ${scale.archive.articles} articles written into Redis in ${scale.archive.writeSeconds} s (pipelined; used_memory ${Math.round(scale.archive.redisBytes.before / MB)} -> ${Math.round(scale.archive.redisBytes.after / MB)} MB)`,
        `warm: ${pageCount} article pages on each of 2 nodes in ${scale.warm.seconds} s: ${scale.warm.assembliesPerSecPerNode} cold assemblies/s per node (shell and body rendered by the origins), ${scale.warm.errors} errors, p99 ${scale.warm.p99Ms} ms [load ${loads.warm}]`,
        `steady Zipf reads (s=${ZIPF_S}, ${connections} readers, ${seconds} s): ${scale.steady.requestsPerSec} req/s, p50 ${scale.steady.p50Ms} ms, p99 ${scale.steady.p99Ms} ms, ${scale.steady.errors} errors, hit ratio ${scale.steady.hitRatio.join(' / ')} [load ${loads.steady}]`,
        `nav edit: every node acknowledged the purge ${nav.ackedAfterMs} ms after the edit (the purge itself ${nav.purgeMs} ms; ${nav.nodes?.map((n) => `${n.node} ${n.purged} objects in ${n.ms} ms`).join(', ')}) [load ${loads.navEdit}]`,
        `  readers before it: p99 ${nav.before.p99Ms} ms, ${nav.before.errors} errors; first 3 s after: p50 ${nav.firstSecondsAfter.p50Ms} ms, p99 ${nav.firstSecondsAfter.p99Ms} ms, max ${nav.firstSecondsAfter.maxMs} ms, ${nav.firstSecondsAfter.errors} errors of ${nav.firstSecondsAfter.requests}; whole rest: p99 ${nav.after.p99Ms} ms, ${nav.after.errors} errors`,
        `  origin fetches during the read run: ${fetchesLine(nav.originFetches)} (pages = assemblies by the inner)`,
        `re-assembly of every page from cached fragments: ${scale.reassembly.assembliesPerSecPerNode} assemblies/s per node (${scale.reassembly.assemblies.join(' + ')} in ${scale.reassembly.seconds} s), ${scale.reassembly.errors} errors, p99 ${scale.reassembly.p99Ms} ms; origin fetches: ${fetchesLine(scale.reassembly.originFetches)} [load ${loads.reassembly}]`,
        ...scale.paced.flatMap((p) => [
          `nav edit with readers arriving at ${p.ratePerNode} req/s per node (open loop, latency from each request's due time): acknowledged ${p.ackedAfterMs} ms after the edit; before it p50 ${p.before.p50Ms} ms, p99 ${p.before.p99Ms} ms [load ${loads[`paced${p.ratePerNode}`]}]`,
          `  first 3 s after: p50 ${p.firstSecondsAfter.p50Ms} ms, p99 ${p.firstSecondsAfter.p99Ms} ms, max ${p.firstSecondsAfter.maxMs} ms, ${p.firstSecondsAfter.errors} errors of ${p.firstSecondsAfter.requests}; whole rest: p99 ${p.after.p99Ms} ms, ${p.after.errors} errors; assemblies ${p.assemblies.join(' + ')}; origin fetches: ${fetchesLine(p.originFetches)}`,
        ]),
        `nav late-bound (TESSERA_PAGE_TIER_LATE_INCLUDES=/fragments/nav), the same ${pageCount} pages warm on 2 nodes in ${late.warm.seconds} s [load ${loads.lateWarm}]:`,
        `  nav edit under ${connections} readers: acknowledged ${late.navEdit.ackedAfterMs} ms after the edit (${late.navEdit.nodes.map((n) => `${n.purged} objects in ${n.ms} ms`).join(', ')}); objects purged ${late.navEdit.objectsPurged.join(' + ')}; ${late.navEdit.requestsPerSec} req/s; before it p99 ${late.navEdit.before.p99Ms} ms; first 3 s after: p50 ${late.navEdit.firstSecondsAfter.p50Ms} ms, p99 ${late.navEdit.firstSecondsAfter.p99Ms} ms, max ${late.navEdit.firstSecondsAfter.maxMs} ms, ${late.navEdit.firstSecondsAfter.errors} errors of ${late.navEdit.firstSecondsAfter.requests}; whole rest p99 ${late.navEdit.after.p99Ms} ms; origin fetches: ${fetchesLine(late.navEdit.originFetches)}; nodes showing the old nav after: ${late.navEdit.nodesShowingOldNavAfter} [load ${loads.lateNavEdit}]`,
        ...late.paced.map(
          (p) =>
            `  at ${p.ratePerNode} req/s per node (open loop): acknowledged ${p.ackedAfterMs} ms after; before p99 ${p.before.p99Ms} ms; first 3 s after: p50 ${p.firstSecondsAfter.p50Ms} ms, p99 ${p.firstSecondsAfter.p99Ms} ms, max ${p.firstSecondsAfter.maxMs} ms, ${p.firstSecondsAfter.errors} errors of ${p.firstSecondsAfter.requests}; assemblies ${p.assemblies.join(' + ')} [load ${loads[`latePaced${p.ratePerNode}`]}]`,
        ),
        `  memory: ${memory.navLateBound.rssBytesPerObject} B RSS/object (${latePerPage} B per page), xkey ${memory.navLateBound.xkeyBytesPerObject} B/object`,
        `storage ${smallStorageMb} MB, Zipf over ${small.articles} pages for ${small.readSeconds} s: hit ratio ${small.hitRatio}, n_lru_nuked ${small.nLruNukedDuringReads} during the reads (${small.nLruNuked} in all), ${small.objects} objects, ${Math.round(small.storageBytes / MB)} MB stored, ${small.readers.requestsPerSec} req/s, p99 ${small.readers.p99Ms} ms, ${small.readers.errors} errors [load ${loads.smallStorage}]`,
        `  evicted page ${small.victim.path}: read again ${small.victim.secondRead}, then ${small.victim.thirdRead}; after an edit and its acknowledgement: ${small.victim.afterEditStatus}, shows the edit: ${small.victim.afterEditShowsEdit} (${small.victim.afterEditCache})`,
        `memory, tier on: ${on.objects} objects, ${on.rssBytesPerObject} B RSS/object (${onPerPage} B per page), storage ${on.storageBytesPerObject} B/object, xkey ${on.xkeyBytesPerObject} B/object (${Math.round(on.xkeyShareOfRss * 100)}% of the RSS growth)`,
        `memory, tier off: ${off.objects} objects, ${off.rssBytesPerObject} B RSS/object (${offPerPage} B per page), storage ${off.storageBytesPerObject} B/object, xkey ${off.xkeyBytesPerObject} B/object (${Math.round(off.xkeyShareOfRss * 100)}% of the RSS growth) [load ${loads.tierOffWarm}]`,
        `key -> URL index in Redis: ${ki.before.keys} keys / ${Math.round(ki.before.bytes / 1024)} KB before the warm, ${ki.warm.keys} keys / ${ki.warm.members} members / ${Math.round(ki.warm.bytes / MB)} MB after it, ${ki.afterReads.keys} keys / ${ki.afterReads.members} members / ${Math.round(ki.afterReads.bytes / MB)} MB after ${scale.steady.requests} more reads; keys without a TTL: ${ki.afterReads.withoutTtl}`,
      ],
    }
  },
}

/** The machine's load averages (1, 5, 15 minutes), noted with every figure: other work shares these 2 cores. */
const loadAverage = (): string => loadavg().map((l) => l.toFixed(2)).join(' ')
