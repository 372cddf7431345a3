// Edit and read load for a Redis failover (the integration test and `npm run bench -- redis-failover`), and the
// check of what survived it: every acknowledged edit in the store and at every edge node.
import type { Article } from '../../content/model.js'
import { editable } from './api.js'
import { get } from './edge.js'

export interface EditAnswer {
  sentAt: number
  at: number
  status: number
  /** The error's stable code, or the fetch failure's name (TimeoutError: no answer in time). */
  code?: string
  ms: number
}

export interface EditLoad {
  /** Per article id, the markers of its acknowledged edits, in order. */
  acked: Map<string, string[]>
  answers: EditAnswer[]
  stop(): Promise<void>
}

/**
 * Editors: each edit appends a marker to one article's body, keeping every marker acknowledged before, so the
 * stored body must hold exactly the markers the API acknowledged. A 503 (or no answer) is sent again unchanged,
 * as a CMS client would; any other failure is recorded and that edit given up.
 */
export function startEdits(options: { contentApi: string; token: string; articles: Article[]; editors: number; pauseMs: number; tag?: string }): EditLoad {
  const { contentApi, articles, editors } = options
  const acked = new Map<string, string[]>(articles.map((a) => [a.id, []]))
  const answers: EditAnswer[] = []
  let running = true
  const loops = Array.from({ length: editors }, async (_, e) => {
    for (let n = 0; running; n++) {
      const article = articles[(e + n * editors) % articles.length]
      const marker = `edit-${options.tag ?? 0}-${e}-${n}`
      for (;;) {
        const input = { ...editable(article), body: `${article.body}\n\n${[...acked.get(article.id)!, marker].join(' ')}` }
        const sentAt = Date.now()
        let status = 0
        let code: string | undefined
        try {
          const res = await fetch(`${contentApi}/articles/${article.id}`, {
            method: 'PUT',
            headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
            body: JSON.stringify(input),
            signal: AbortSignal.timeout(10_000),
          })
          status = res.status
          const text = await res.text()
          if (status !== 200) code = (JSON.parse(text) as { error: { code: string } }).error.code
        } catch (err) {
          code = (err as Error).name
        }
        answers.push({ sentAt, at: Date.now(), status, code, ms: Date.now() - sentAt })
        if (status === 200) {
          acked.get(article.id)!.push(marker)
          break
        }
        if (status !== 503 && status !== 0) break
        await new Promise((r) => setTimeout(r, 50))
      }
      await new Promise((r) => setTimeout(r, options.pauseMs))
    }
  })
  return {
    acked,
    answers,
    async stop() {
      running = false
      await Promise.all(loops)
    },
  }
}

export interface ReadLoad {
  seen: Array<{ at: number; path: string; status: number }>
  stop(): Promise<void>
}

/** Readers: each reads `pages` in turn, from each edge node in turn, as fast as answers come. */
export function startReads(options: { edges: Array<{ url: string }>; pages: string[]; readers: number }): ReadLoad {
  const seen: ReadLoad['seen'] = []
  let running = true
  const loops = Array.from({ length: options.readers }, async (_, r) => {
    for (let n = r; running; n++) {
      const path = options.pages[n % options.pages.length]
      const res = await get(options.edges[n % options.edges.length].url, path).catch(() => ({ status: 0 }))
      seen.push({ at: Date.now(), path, status: res.status })
    }
  })
  return {
    seen,
    async stop() {
      running = false
      await Promise.all(loops)
    },
  }
}

export interface Survivors {
  acked: number
  /** Acknowledged edits whose marker the store holds. */
  found: number
  /** Per article: the markers stored vs acknowledged (equal when nothing was lost or added). */
  articles: Array<{ id: string; stored: string[]; acked: string[] }>
  /** Pages an edge node served without the article's last acknowledged edit: a purge that did not reach it. */
  stale: Array<{ edge: string; slug: string; marker: string }>
}

/** After the load has stopped and the purge service has taken every event: what of the acknowledged edits survived. */
export async function survivingEdits(options: { contentApi: string; token: string; articles: Article[]; edges: Array<{ name: string; url: string }>; load: EditLoad }): Promise<Survivors> {
  const out: Survivors = { acked: 0, found: 0, articles: [], stale: [] }
  for (const article of options.articles) {
    const res = await fetch(`${options.contentApi}/articles/${article.id}`, { headers: { authorization: `Bearer ${options.token}` } })
    const stored: string[] = ((await res.json()) as Article).body.match(/edit-\d+-\d+-\d+/g) ?? []
    const acked = options.load.acked.get(article.id)!
    out.acked += acked.length
    out.found += acked.filter((m) => stored.includes(m)).length
    out.articles.push({ id: article.id, stored, acked })
    const last = acked.at(-1)
    if (last === undefined) continue
    for (const edge of options.edges) {
      const page = await get(edge.url, `/articles/${article.slug}`)
      if (page.status !== 200 || !page.body.includes(last)) out.stale.push({ edge: edge.name, slug: article.slug, marker: last })
    }
  }
  return out
}
