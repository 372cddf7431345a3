// Draft previews: /preview/<path>?token=... shows the page at <path> as it will be, drafts and scheduled
// content included (articles, hubs, blocks), for an editor holding a token from the console. Assembled here,
// in-process, from the same shells and fragment renders readers get: the edge passes it (varnish/preview.vcl),
// so nothing of it is cached or shared, and it carries no ESI for the edge to resolve.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Redis } from 'ioredis'
import type { ContentRepository } from '../content/repository.js'
import type { Rendered } from '../fragments/kit/fragment.js'
import { hbs } from '../platform/html.js'
import { previewTokenRefusal } from '../platform/preview-token.js'
import { matchPath } from '../fragments/kit/route-match.js'
import { FRAGMENTS } from '../fragments/registry.js'
import type { LayoutPage } from './app.js'

export interface PreviewDeps {
  content: ContentRepository
  redis: Redis
  secret: string | undefined
  pages: LayoutPage[]
  now?: () => Date
}

const INCLUDE = /<esi:include src="([^"]+)"\/>/g

export function registerPreview(app: FastifyInstance, deps: PreviewDeps): void {
  const now = deps.now ?? (() => new Date())

  const answer = (reply: FastifyReply, status: number, html: string) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'private, no-store')
      .header('x-robots-tag', 'noindex, nofollow')
      // the token is in this page's URL: links out of it must not carry it in a Referer
      .header('referrer-policy', 'no-referrer')
      .send(html)

  const refusal = (reply: FastifyReply, status: number, message: string) =>
    answer(reply, status, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Preview refused</title></head><body><h1>Preview refused</h1><p>${hbs.escapeExpression(message)}</p></body></html>`)

  app.get('/preview/*', async (request, reply) => {
    const why = deps.secret === undefined ? 'previews are not configured on this site (TESSERA_PREVIEW_SECRET)' : await previewTokenRefusal(deps.redis, deps.secret, (request.query as Record<string, unknown>).token, now())
    if (why !== undefined) return refusal(reply, 403, why)
    const path = `/${(request.params as Record<string, string>)['*'] ?? ''}`
    const at = now()
    for (const page of deps.pages) {
      const params = matchPath(page.path, path)
      if (params === undefined) continue
      const shell = await page.render(params, at, true)
      const html = await assemble(deps.content, shell, at)
      return answer(reply, shell.status ?? 200, html.replace(/<body([^>]*)>/, '<body$1>\n<p class="preview-banner" role="status" style="margin:0;padding:.4rem 1.5rem;background:#fde68a;font:14px Arial,sans-serif">Preview: drafts and scheduled content shown; readers do not see this page yet.</p>'))
    }
    return refusal(reply, 404, `there is no page at ${path} to preview`)
  })
}

/** The shell with each include replaced by its fragment's preview render. */
async function assemble(content: ContentRepository, shell: Rendered, now: Date): Promise<string> {
  const urls = [...new Set([...shell.html.matchAll(INCLUDE)].map((m) => m[1]!))]
  const parts = new Map(await Promise.all(urls.map(async (url) => [url, await renderInclude(content, url, now)] as const)))
  return shell.html.replace(INCLUDE, (_, url: string) => parts.get(url) ?? '')
}

async function renderInclude(content: ContentRepository, url: string, now: Date): Promise<string> {
  for (const fragment of Object.values(FRAGMENTS)) {
    for (const route of fragment.routes) {
      const params = matchPath(route, url)
      if (params === undefined || fragment.checkParams?.(params) !== undefined) continue
      try {
        return (await fragment.render({ content, params, now, preview: true })).html
      } catch {
        return fragment.fallback()
      }
    }
  }
  return ''
}
