// The content and purge APIs as a benchmark drives them: JSON in and out, bearer token, errors thrown.
import type { Article } from '../../content/model.js'
import type { Stack } from '../../scripts/stack/stack.js'

export type Call = <T>(method: string, path: string, body?: unknown) => Promise<T>

function client(base: string, token: string): Call {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`${method} ${base}${path} answered ${res.status}: ${text.slice(0, 300)}`)
    return (text ? JSON.parse(text) : undefined) as T
  }
}

export const contentApi = (stack: Stack): Call => client(`http://127.0.0.1:${stack.config.ports.content}`, stack.secrets.editorToken)
export const purgeApi = (stack: Stack): Call => client(`http://127.0.0.1:${stack.config.ports.purge}`, stack.secrets.editorToken)

/** Published articles (publishedAt in the past), newest first. */
export async function publishedArticles(content: Call): Promise<Article[]> {
  const { items } = await content<{ items: Article[] }>('GET', '/articles?limit=100')
  const now = Date.now()
  return items
    .filter((a) => a.publishedAt && Date.parse(a.publishedAt) <= now)
    .sort((a, b) => Date.parse(b.publishedAt!) - Date.parse(a.publishedAt!))
}

/** The fields PUT /articles/:id takes, from a stored article (the store sets id and updatedAt). */
export function articleInput(a: Article): Omit<Article, 'id' | 'updatedAt'> {
  const { slug, title, section, body, summary, author, publishedAt, views } = a
  const input = { slug, title, section, body, summary, author, publishedAt, views }
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as typeof input
}
