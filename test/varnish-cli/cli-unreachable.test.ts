import net from 'node:net'

import t from 'tap'

import { VarnishCli, VarnishCliUnreachable } from '../../varnish-cli/varnish-cli.js'
import { freePort } from './helpers.js'

t.test('a port nobody listens on is VarnishCliUnreachable', async (t) => {
  const port = await freePort()
  const started = Date.now()
  const err = await VarnishCli.connect({ host: '127.0.0.1', port, secret: Buffer.from('x') }).catch((e: unknown) => e)
  t.type(err, VarnishCliUnreachable)
  t.equal((err as VarnishCliUnreachable).code, 'TESSERA_VARNISH_UNREACHABLE')
  t.equal((err as VarnishCliUnreachable).statusCode, 503)
  t.match((err as Error).message, new RegExp(`127\\.0\\.0\\.1:${port} refused the connection`))
  t.ok(Date.now() - started < 1000)
})

t.test('a server that does not speak the CLI protocol is VarnishCliUnreachable, not a hang', async (t) => {
  const srv = net.createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())))
  const { port } = srv.address() as net.AddressInfo
  const err = await VarnishCli.connect({ host: '127.0.0.1', port, secret: Buffer.from('x'), timeoutMs: 2000 }).catch((e: unknown) => e)
  t.type(err, VarnishCliUnreachable)
  t.match((err as Error).message, /does not speak the varnish CLI protocol/)
})
