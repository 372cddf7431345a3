import net from 'node:net'

import t from 'tap'

import {
  CliFrameReader,
  VarnishCli,
  VarnishCliAuthFailed,
  type CliResponse,
} from '../../varnish-cli/varnish-cli.js'
import { startTestVarnish } from './helpers.js'

const v = await startTestVarnish(t)
const connect = () => VarnishCli.connect({ host: '127.0.0.1', port: v.adminPort, secret: v.secret })

t.test('the right secret authenticates; ping and status answer', async (t) => {
  const cli = await connect()
  t.teardown(() => cli.close())
  await cli.ping()
  t.equal(await cli.status(), 'running')
  const pong = await cli.command('ping')
  t.equal(pong.status, 200)
  t.match(pong.body, /^PONG \d+ 1\.0$/)
})

t.test('a wrong secret fails fast with VarnishCliAuthFailed and leaves nothing hanging', async (t) => {
  const started = Date.now()
  const err = await VarnishCli.connect({
    host: '127.0.0.1', port: v.adminPort, secret: Buffer.from('not the secret\n'), timeoutMs: 5000,
  }).catch((e: unknown) => e)
  t.type(err, VarnishCliAuthFailed)
  t.equal((err as VarnishCliAuthFailed).code, 'TESSERA_VARNISH_AUTH')
  t.match((err as Error).message, /refused our CLI authentication/)
  t.ok(Date.now() - started < 2000, `failed within ${Date.now() - started} ms`)
  // The secret without its trailing newline is a different secret: varnishd hashes the raw file bytes.
  const trimmed = await VarnishCli.connect({
    host: '127.0.0.1', port: v.adminPort, secret: Buffer.from(v.secret.toString().trimEnd()),
  }).catch((e: unknown) => e)
  t.type(trimmed, VarnishCliAuthFailed)
})

t.test('commands are serialised: 50 at once all get their own answer', async (t) => {
  const cli = await connect()
  t.teardown(() => cli.close())
  const names = ['cli_limit', 'default_ttl', 'default_grace', 'thread_pools', 'vcl_path']
  const all = await Promise.all(Array.from({ length: 50 }, (_, i) => cli.paramShow(names[i % names.length]!)))
  t.same(all.map((p) => p.name), Array.from({ length: 50 }, (_, i) => names[i % names.length]))
})

t.test('a body over 64 KB is read intact by length; over cli_limit it is 201 (truncated)', async (t) => {
  const cli = await connect()
  t.teardown(() => cli.close())
  // ~200 KB of VCL: comments with every printable ASCII char, newlines, and CLI-looking text such as
  // "200 12      \n" that would confuse any line-based reader.
  const lines = ['vcl 4.1;', 'backend default { .host = "127.0.0.1"; .port = "9"; }']
  for (let i = 0; lines.join('\n').length < 200_000; i++) {
    lines.push(`# ${i} 200 ${i}      ~ !"#$%&'()*+,-./:;<=>?@[\\]^_\`{|}~ é ü 漢`)
  }
  const source = `${lines.join('\n')}\n`
  t.ok(Buffer.byteLength(source) > 64 * 1024)
  await cli.vclInline('big', source) // a here-document: no cli_buffer limit
  t.teardown(async () => {
    const c = await connect()
    await c.vclDiscard('big')
    await c.close()
  })

  const truncated = await cli.command('vcl.show', 'big')
  t.equal(truncated.status, 201, 'default cli_limit (48k) truncates')
  t.ok(truncated.body.length < source.length)

  await cli.paramSet('cli_limit', '4m')
  t.teardown(async () => {
    const c = await connect()
    await c.paramSet('cli_limit', '48k')
    await c.close()
  })
  const full = await cli.command('vcl.show', 'big')
  t.equal(full.status, 200)
  t.equal(full.body, source, 'vcl.show returns the 200 KB source byte for byte')
  await cli.ping() // the stream is still in step after the big body
})

t.test('the frame reader splits real varnishd bytes however they are chunked', async (t) => {
  // Capture real bytes: greeting (107 + challenge), then two answers sent back to back.
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: v.adminPort })
    const chunks: Buffer[] = []
    s.on('data', (d) => {
      chunks.push(d)
      const all = Buffer.concat(chunks)
      if (chunks.length === 1) s.write('ping\nping\n') // unauthenticated: ping is allowed
      if ((all.toString('latin1').match(/PONG/g) ?? []).length === 2) {
        s.destroy()
        resolve(all)
      }
    })
    s.on('error', reject)
  })
  const whole = new CliFrameReader().push(raw)
  t.equal(whole.length, 3)
  t.equal(whole[0]!.status, 107)
  t.match(whole[0]!.body, /^[a-z]{32}\n\nAuthentication required\.\n$/)
  t.same(whole.slice(1).map((r) => r.status), [200, 200])

  const reader = new CliFrameReader()
  const byByte: CliResponse[] = []
  for (const b of raw) byByte.push(...reader.push(Buffer.from([b])))
  t.same(byByte, whole, 'one byte at a time gives the same responses')
})
