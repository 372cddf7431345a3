// The architecture Tessera replaces, for comparison with the edge: one Node process that renders the whole
// page from Redis on every request, with no cache anywhere. It reuses the real page shell template and the
// real fragment definitions (fragments/*/fragment.ts): each <esi:include src="..."/> of the shell is replaced
// by the render of the fragment route it names (nested includes too, up to a small depth).
// Run as its own process: `node dist/bench/monolith.js redis://127.0.0.1:6390`; it listens on a free loopback
// port and prints `{"port":N}` once ready. Pages: `/` and `/articles/:slug`.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { ContentRepository } from '../content/repository.js'
import type { FragmentDefinition } from '../fragments/kit/fragment.js'
import { layoutPages } from '../layouts/app.js'
import { connectRedis } from '../platform/redis.js'
import { FRAGMENTS } from '../fragments/registry.js'

const redisUrl = process.argv[2]
if (!redisUrl) throw new Error('monolith: pass the Redis URL as the first argument')
const redis = connectRedis(redisUrl, 'monolith')
const content = new ContentRepository(redis)
// The layout service's own pages (their shells and includes).
const pages = layoutPages(content)

/** Every fragment route as a regular expression with named groups: '/fragments/article/:id' -> (?<id>[^/]+). */
const routes = Object.values(FRAGMENTS).flatMap((fragment: FragmentDefinition) =>
  fragment.routes.map((route) => ({ fragment, pattern: new RegExp(`^${route.replace(/:(\w+)/g, '(?<$1>[^/?]+)')}$`) })),
)

async function renderFragment(url: string, now: Date, depth: number): Promise<string> {
  for (const { fragment, pattern } of routes) {
    const match = pattern.exec(url)
    if (!match) continue
    const params = { ...match.groups }
    if (fragment.checkParams?.(params) !== undefined) continue
    const rendered = await fragment.render({ content, params, now })
    return inline(rendered.html, now, depth + 1)
  }
  return ''
}

const INCLUDE = /<esi:include\s+src="([^"]+)"\s*\/>/g

/** Replaces every include with its fragment's HTML, rendered concurrently (the edge does them in turn). */
async function inline(html: string, now: Date, depth: number): Promise<string> {
  const includes = [...html.matchAll(INCLUDE)]
  if (includes.length === 0 || depth > 3) return html
  const bodies = await Promise.all(includes.map((m) => renderFragment(m[1], now, depth)))
  let out = ''
  let at = 0
  includes.forEach((m, i) => {
    out += html.slice(at, m.index) + bodies[i]
    at = m.index + m[0].length
  })
  return out + html.slice(at)
}

/** The shell the layout service would write for `url` (layouts/app.ts), or undefined for a 404. */
async function shellFor(url: string, now: Date): Promise<string | undefined> {
  const wanted = url === '/' ? pages.find((p) => p.path === '/') : /^\/articles\/[a-z0-9][a-z0-9-]{0,63}$/.test(url) ? pages.find((p) => p.path === '/articles/:slug') : undefined
  if (!wanted) return undefined
  const shell = await wanted.render({ slug: url.slice('/articles/'.length) }, now, false)
  return shell.status === 404 ? undefined : shell.html
}

const server = http.createServer((req, res) => {
  const now = new Date()
  shellFor(req.url ?? '/', now)
    .then((shell) => (shell === undefined ? undefined : inline(shell, now, 0)))
    .then(
      (body) => {
        if (body === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
        else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(body)
      },
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`monolith: ${err.message}\n`),
    )
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n'))
const stop = () => server.close(() => { redis.disconnect(); process.exit(0) })
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
