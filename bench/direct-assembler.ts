// A page assembled with no cache at all, for comparison with the edge: fetch the shell from the layout
// service, then each <esi:include src="..."/> from the fragment service that owns it (routed exactly like
// varnish/routing.vcl), all includes in parallel over keep-alive pools, and splice them in.
// Run as its own process: `node dist/bench/direct-assembler.js '{"layout":3000,"nav":3001,...}'`; it listens on
// a free loopback port and prints `{"port":N}` once ready.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'

type Origin = 'layout' | 'nav' | 'sidebar' | 'article' | 'sections'
const ports = JSON.parse(process.argv[2] ?? '{}') as Record<Origin, number>
const pools = Object.fromEntries(
  (['layout', 'nav', 'sidebar', 'article', 'sections'] as const).map((name) => {
    if (!Number.isInteger(ports[name])) throw new Error(`direct-assembler: no port for ${name} in ${process.argv[2]}`)
    return [name, new Pool(`http://127.0.0.1:${ports[name]}`, { connections: 32, keepAliveTimeout: 30_000 })]
  }),
) as Record<Origin, Pool>

/** The service that answers a URL: the same prefixes, in the same order, as tessera_routing_recv. */
function originFor(url: string): Origin | undefined {
  if (/^\/fragments\/nav(\/_fallback)?(\?|$)/.test(url)) return 'nav'
  if (/^\/fragments\/sidebar(\/|\?|$)/.test(url)) return 'sidebar'
  if (url.startsWith('/fragments/article/')) return 'article'
  if (url.startsWith('/fragments/sections/')) return 'sections'
  if (url.startsWith('/fragments/')) return undefined // the edge answers 404 itself
  return 'layout'
}

async function fetchFrom(url: string): Promise<{ status: number; body: string }> {
  const origin = originFor(url)
  if (!origin) return { status: 404, body: '' }
  const res = await pools[origin].request({ method: 'GET', path: url })
  return { status: res.statusCode, body: await res.body.text() }
}

const INCLUDE = /<esi:include\s+src="([^"]+)"\s*\/>/g

async function assemble(url: string): Promise<{ status: number; body: string }> {
  const shell = await fetchFrom(url)
  const includes = [...shell.body.matchAll(INCLUDE)]
  const bodies = await Promise.all(includes.map((m) => fetchFrom(m[1]).then((r) => r.body)))
  let out = ''
  let at = 0
  includes.forEach((m, i) => {
    out += shell.body.slice(at, m.index) + bodies[i]
    at = m.index + m[0].length
  })
  return { status: shell.status, body: out + shell.body.slice(at) }
}

const server = http.createServer((req, res) => {
  assemble(req.url ?? '/').then(
    ({ status, body }) => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body),
    (err: Error) => res.writeHead(502, { 'content-type': 'text/plain' }).end(`direct-assembler: ${err.message}\n`),
  )
})
server.keepAliveTimeout = 30_000
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n'))
const stop = () => server.close(() => Promise.all(Object.values(pools).map((p) => p.close())).finally(() => process.exit(0)))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
