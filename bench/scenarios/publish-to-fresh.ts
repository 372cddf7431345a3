// Issue 3: from an editor's save to fresh content at every edge node. Two edge nodes, a warm set of pages;
// each edit is a PUT through the content API, timed until BOTH nodes serve the new body (each polled every
// 2 ms, in parallel). Then, per kind of edit, how much of each node's cache the resulting purge removed.
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import type { Article, Block, Nav, Section } from '../../content/model.js'
import type { PurgeRecord } from '../../purge-service/purger.js'
import { eventsSettled } from '../../test/support/wait.js'
import { articleInput, type Call, contentApi, publishedArticles, purgeApi } from '../support/content.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { type BenchStack, withBenchStack } from '../support/stack.js'
import { median, percentile, round } from '../support/stats.js'
import { objectsHeld } from '../support/varnishstat.js'

const POLL_MS = 2
const EDIT_TIMEOUT_MS = 5000
const GOAL_P99_MS = 50

/** GETs `path` every POLL_MS until the body contains `marker`; the moment it did, or NaN at the deadline. */
async function firstSeen(pool: Pool, path: string, marker: string, deadline: number): Promise<number> {
  while (performance.now() < deadline) {
    const res = await pool.request({ method: 'GET', path })
    if ((await res.body.text()).includes(marker)) return performance.now()
    await sleep(POLL_MS)
  }
  return NaN
}

interface EditKind {
  kind: string
  edit(rep: number): Promise<unknown>
}

/** The six kinds of edit, each acting on content the warm pages show. */
function editKinds(content: Call, articles: Article[], sections: Section[], blocks: Block[], nav: Nav, runId: string): EditKind[] {
  const now = new Date()
  const active = (b: Block) => (!b.startsAt || Date.parse(b.startsAt) <= now.getTime()) && (!b.endsAt || Date.parse(b.endsAt) > now.getTime())
  const textBlock = blocks.find((b) => active(b) && b.kind === 'text' && b.slot !== 'nav')
  const movingBlock = blocks.find((b) => active(b) && b.slot === 'sidebar' && b.id !== textBlock?.id)
  if (!textBlock || !movingBlock) throw new Error('the demo content has no active text block and sidebar block to edit')
  const putBlock = (b: Block, change: Partial<Block>) => {
    const { slot, kind, content: text, position, startsAt, endsAt } = { ...b, ...change }
    return content('PUT', `/blocks/${b.id}`, { slot, kind, content: text, position, ...(startsAt ? { startsAt } : {}), ...(endsAt ? { endsAt } : {}) })
  }
  let movingSlot = movingBlock.slot
  return [
    {
      kind: 'body edit of a published article',
      edit: (rep) => content('PUT', `/articles/${articles[rep % 5].id}`, { ...articleInput(articles[rep % 5]), body: `${articles[rep % 5].body}\n\nKind edit ${runId}-${rep}.` }),
    },
    {
      kind: 'publish of a draft article (new, publishedAt now)',
      edit: (rep) =>
        content('PUT', `/articles/bench-${runId}-${rep}`, {
          slug: `bench-${runId}-${rep}`,
          title: `Benchmark article ${runId} ${rep}`,
          section: sections[rep % sections.length].slug,
          body: 'Written by the publish-to-fresh benchmark.',
          author: 'Bench',
          publishedAt: new Date().toISOString(),
        }),
    },
    {
      kind: 'move an article to another section',
      edit: (rep) => {
        const a = articles[5 + (rep % 5)]
        const to = sections.find((s) => s.slug !== a.section)!.slug
        return content('PUT', `/articles/${a.id}`, { ...articleInput(a), section: to })
      },
    },
    { kind: "edit of an editor block's content", edit: (rep) => putBlock(textBlock, { content: `${textBlock.content} (edit ${runId}-${rep})` }) },
    {
      kind: "change of a block's slot",
      edit: () => {
        movingSlot = movingSlot === 'sidebar' ? 'main' : 'sidebar'
        return putBlock(movingBlock, { slot: movingSlot })
      },
    },
    {
      kind: 'nav change',
      edit: (rep) => content('PUT', '/nav', { entries: nav.entries.map((e, i) => (i === 1 ? { ...e, label: `${e.label} ${rep + 1}` } : e)) }),
    },
  ]
}

async function run(stack: BenchStack) {
  const edits = envInt('BENCH_EDITS', 200)
  const repeats = envInt('BENCH_KIND_REPEATS', 3)
  const content = contentApi(stack)
  const purges = purgeApi(stack)
  const runId = Date.now().toString(36)
  await eventsSettled(stack.redisUrl) // the seed's own purges first

  const articles = (await publishedArticles(content)).slice(0, 10)
  const sections = (await content<{ items: Section[] }>('GET', '/sections')).items
  const pages = ['/', ...articles.map((a) => `/articles/${a.slug}`), ...sections.map((s) => `/sections/${s.slug}`)]
  const pools = stack.edges.map((e) => new Pool(e.url, { connections: 4, keepAliveTimeout: 30_000 }))
  const warm = () =>
    Promise.all(
      pools.map(async (pool, i) => {
        for (const path of pages) {
          const res = await pool.request({ method: 'GET', path })
          await res.body.dump()
          if (res.statusCode !== 200) throw new Error(`${stack.edges[i].name} answered ${res.statusCode} for ${path}`)
        }
      }),
    )

  try {
    // ---- publish-to-fresh: body edits of the warm articles, in turn
    await warm()
    // The purge service coalesces a key purged again within this window; a real editor is slower than that.
    const sameKeyGapMs = stack.config.purge.coalesceMs + 10
    const lastEdit = new Map<string, number>()
    const samples: Array<{ ms: number; putMs: number; nodeMs: number[] }> = []
    for (let n = 0; n < edits; n++) {
      const article = articles[n % articles.length]
      const wait = (lastEdit.get(article.id) ?? 0) + sameKeyGapMs - Date.now()
      if (wait > 0) await sleep(wait)
      const marker = `fresh-${runId}-${n}`
      const started = performance.now()
      const deadline = started + EDIT_TIMEOUT_MS
      const [putMs, seen] = await Promise.all([
        content('PUT', `/articles/${article.id}`, { ...articleInput(article), body: `${article.body}\n\nUpdated: ${marker}.` }).then(() => performance.now() - started),
        Promise.all(pools.map((pool) => firstSeen(pool, `/fragments/article/${article.id}`, marker, deadline))),
      ])
      lastEdit.set(article.id, Date.now())
      const nodeMs = seen.map((t) => (Number.isNaN(t) ? EDIT_TIMEOUT_MS : t - started))
      samples.push({ ms: Math.max(...nodeMs), putMs, nodeMs })
      await warm() // the next edit meets a warm cache again
    }
    const times = samples.map((s) => s.ms)
    const timeouts = samples.filter((s) => s.nodeMs.some((ms) => ms >= EDIT_TIMEOUT_MS)).length
    const freshness = {
      edits,
      timeouts,
      ms: { p50: round(percentile(times, 50)), p90: round(percentile(times, 90)), p99: round(percentile(times, 99)), max: round(Math.max(...times)) },
      putResponseMs: { p50: round(percentile(samples.map((s) => s.putMs), 50)), p99: round(percentile(samples.map((s) => s.putMs), 99)) },
      perNodeP50Ms: stack.edges.map((e, i) => ({ node: e.name, p50: round(percentile(samples.map((s) => s.nodeMs[i]), 50)) })),
      goalP99Ms: GOAL_P99_MS,
      goalMet: percentile(times, 99) < GOAL_P99_MS && timeouts === 0,
    }

    // ---- purge precision: per kind of edit, objects removed vs objects held, at each node
    const blocks = (await content<{ items: Block[] }>('GET', '/blocks')).items
    const nav = await content<Nav>('GET', '/nav')
    const kinds = []
    for (const { kind, edit } of editKinds(content, articles, sections, blocks, nav, runId)) {
      const reps = []
      for (let rep = 0; rep < repeats; rep++) {
        await warm()
        await eventsSettled(stack.redisUrl)
        const held = await Promise.all(stack.edges.map(objectsHeld))
        const before = (await purges<{ purges: PurgeRecord[] }>('GET', '/purges?limit=1')).purges[0]?.id
        const started = performance.now()
        await edit(rep)
        let record: PurgeRecord | undefined
        while (!record) {
          if (performance.now() - started > 10_000) throw new Error(`no purge logged within 10 s after a ${kind}`)
          const latest = (await purges<{ purges: PurgeRecord[] }>('GET', '/purges?limit=1')).purges[0]
          if (latest && latest.id !== before) record = latest
          else await sleep(5)
        }
        if (record.source !== 'event') throw new Error(`the purge after a ${kind} came from ${record.source}, not from the change event`)
        const loggedMs = performance.now() - started
        reps.push({
          keys: record.keys,
          loggedMs: round(loggedMs),
          nodes: stack.edges.map((e, i) => ({ node: e.name, held: held[i], purged: record.nodes.find((n) => n.node === e.url)?.purged ?? NaN })),
        })
      }
      kinds.push({ kind, reps })
    }
    return { freshness, kinds, warmPages: pages }
  } finally {
    await Promise.all(pools.map((p) => p.close()))
  }
}

export const publishToFresh: Scenario = {
  name: 'publish-to-fresh',
  description: 'two edge nodes: time from an article PUT until both serve it, and what each kind of edit purges',
  async run() {
    const { freshness, kinds, warmPages } = await withBenchStack({ edges: 2 }, run)
    const f = freshness
    const summary = [
      `${f.edits} body edits, both nodes fresh after: p50 ${f.ms.p50} ms  p90 ${f.ms.p90} ms  p99 ${f.ms.p99} ms  max ${f.ms.max} ms  (goal p99 < ${f.goalP99Ms} ms: ${f.goalMet ? 'met' : 'NOT met'}; ${f.timeouts} timeouts)`,
      `  PUT answered: p50 ${f.putResponseMs.p50} ms  p99 ${f.putResponseMs.p99} ms;  per node p50: ${f.perNodeP50Ms.map((n) => `${n.node} ${n.p50} ms`).join(', ')}`,
      `purged / held objects per node (${warmPages.length} warm pages; ${kinds[0]?.reps.length ?? 0} edits of each kind, medians):`,
      ...kinds.map(({ kind, reps }) => {
        const nodes = reps[0].nodes.map((n, i) => {
          const purged = median(reps.map((r) => r.nodes[i].purged))
          const held = median(reps.map((r) => r.nodes[i].held))
          return `${n.node} ${purged}/${held} (${round((100 * purged) / held)}%)`
        })
        return `  ${kind.padEnd(50)} ${nodes.join('  ')}  keys: ${reps[0].keys.join(' ')}`
      }),
    ]
    return {
      settings: { edits: f.edits, kindRepeats: kinds[0]?.reps.length ?? 0, edgeNodes: 2, pollMs: POLL_MS, editTimeoutMs: EDIT_TIMEOUT_MS },
      figures: { freshness, kinds, warmPages },
      summary,
    }
  },
}
