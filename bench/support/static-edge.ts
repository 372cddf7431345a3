// The ceiling for a page at the edge: one static object of the same bytes, cached by a second varnishd with
// the same storage and params as a Tessera edge node and a 3-line VCL, in front of a tiny node:http origin;
// or by a bare varnishd (default parameters, builtin VCL and do_gzip), the comparison anyone can repeat.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePorts } from '../../scripts/stack/ephemeral.js'
import type { EdgeNode } from '../../scripts/stack/stack.js'
import { type RunningVarnishd, startVarnishd } from '../../scripts/stack/varnishd.js'
import { fetchPage } from './compare.js'

/** A node:http origin that answers every GET with `body` and `headers`, cacheable at the edge for an hour. */
async function startStaticOrigin(body: string | Buffer, headers: Record<string, string>): Promise<{ port: number; stop(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=0, s-maxage=3600', ...headers }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

/** The storage (-s malloc,<n>m) and -p parameters `edge`'s varnishd runs with (vcl_path aside: it names Tessera's VCL dirs). */
function settingsOf(edge: EdgeNode): { storageMb: number; params: Record<string, string> } {
  const { args } = edge.varnishd
  const storageMb = Number(/^malloc,(\d+)m$/.exec(args[args.indexOf('-s') + 1] ?? '')?.[1])
  if (!Number.isInteger(storageMb)) throw new Error(`cannot read ${edge.name}'s malloc storage from its arguments: ${args.join(' ')}`)
  const params: Record<string, string> = {}
  args.forEach((arg, i) => {
    const m = args[i - 1] === '-p' ? /^([^=]+)=(.*)$/.exec(arg) : null
    if (m && m[1] !== 'vcl_path') params[m[1]] = m[2]
  })
  return { storageMb, params }
}

export interface StaticEdge {
  /** The object's URL, warm (a cache hit) on the second varnishd. */
  url: string
  /** The second varnishd (page-tier reads its worker's CPU time). */
  varnishd: RunningVarnishd
  stop(): Promise<void>
}

/**
 * Starts the origin and the second varnishd (storage and params as `edge`'s, same -S secret), and warms the
 * object at `pagePath`. The origin answers `body` with `headers` (say `content-encoding: gzip` for a gzip body:
 * varnishd then stores it compressed and gunzips it for clients that do not accept gzip, as it does a page).
 *
 * `bare`: varnishd with its default parameters (only the storage size is `edge`'s) and the builtin VCL plus
 * `set beresp.do_gzip = true`: give it the plain bytes, it stores them gzipped in one pass, as anyone would set
 * up a cache for one page. The other comparison (no option) shares Tessera's parameters (vsl_mask...).
 */
export async function startStaticEdge(
  edge: EdgeNode,
  object: { pagePath: string; body: string | Buffer; headers?: Record<string, string> },
  options: { bare?: boolean } = {},
): Promise<StaticEdge> {
  const origin = await startStaticOrigin(object.body, object.headers ?? {})
  const workRoot = mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-static-'))
  let varnishd: RunningVarnishd | undefined
  const stop = async () => {
    await varnishd?.stop()
    await origin.stop()
    rmSync(workRoot, { recursive: true, force: true })
  }
  try {
    const vclFile = path.join(workRoot, 'static.vcl')
    // Builtin VCL does the rest: a GET without cookies is cached for s-maxage. The bare one gzips what it stores.
    const gzip = options.bare ? 'sub vcl_backend_response { set beresp.do_gzip = true; }\n' : ''
    writeFileSync(vclFile, `vcl 4.1;\nbackend origin { .host = "127.0.0.1"; .port = "${origin.port}"; }\n${gzip}`, { mode: 0o644 })
    const [port, adminPort] = await freePorts(2)
    varnishd = await startVarnishd({
      workDir: path.join(workRoot, 'varnish'),
      listen: [{ name: 'front', host: '127.0.0.1', port }],
      adminHost: '127.0.0.1',
      adminPort,
      secretFile: edge.secretFile,
      vclFile,
      vclPath: [workRoot],
      ...(options.bare ? { storageMb: settingsOf(edge).storageMb } : settingsOf(edge)),
    })
    const url = `http://127.0.0.1:${port}${object.pagePath}`
    await fetchPage(url)
    const warm = await fetchPage(url)
    // A hit's X-Varnish names two requests: this one and the one that fetched the object.
    if (!/^\d+ \d+$/.test(warm.headers.get('x-varnish') ?? '')) throw new Error(`${url} is not a cache hit on the second request`)
    return { url, varnishd, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
