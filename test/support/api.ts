// Calling the stack's JSON APIs (content API, purge service) as the tests do.
import type { Article } from '../../content/model.js'

export interface ApiAnswer<T> {
  status: number
  json: T
}

/** One JSON request; `headers` carries the bearer token (none: the call is anonymous). `T` is what the test expects back. */
export async function callJson<T = unknown>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
  const res = await fetch(base + path, { method, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body !== undefined ? JSON.stringify(body) : undefined })
  const text = await res.text()
  return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T }
}

/** What PUT /articles/:id takes. */
export type ArticleInput = Omit<Article, 'id' | 'updatedAt'>

/** An article as the content API gives it, reduced to what PUT /articles/:id takes (change a field, send it back). */
export function editable(a: Article): ArticleInput {
  const { slug, title, section, body, summary, author, publishedAt, views } = a
  return Object.fromEntries(Object.entries({ slug, title, section, body, summary, author, publishedAt, views }).filter(([, v]) => v !== undefined)) as ArticleInput
}

/** Published articles (not drafts), newest update first. */
export async function publishedArticles(contentApi: string, editorToken: string): Promise<Article[]> {
  const { json } = await callJson<{ items: Article[] }>(contentApi, 'GET', '/articles?limit=100', undefined, { authorization: `Bearer ${editorToken}` })
  return json.items.filter((a) => a.publishedAt && Date.parse(a.publishedAt) <= Date.now())
}
