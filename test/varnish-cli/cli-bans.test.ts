import t from 'tap'

import { banExpressionForUrl } from '../../purge-service/bans.js'
import {
  InvalidBan,
  VarnishCli,
  VarnishCliCommandFailed,
} from '../../varnish-cli/varnish-cli.js'
import { startTestVarnish } from './helpers.js'

// Objects are made in vcl_backend_error (the backend at :9 never answers) and carry x-url like our VCL.
const VCL = `vcl 4.1;
backend default { .host = "127.0.0.1"; .port = "9"; }
sub vcl_backend_error {
  set beresp.status = 200;
  set beresp.ttl = 1h;
  set beresp.http.x-url = bereq.url;
  set beresp.body = "made for " + bereq.url;
  return (deliver);
}
`
const v = await startTestVarnish(t, { vcl: VCL })
const cli = await VarnishCli.connect({ host: '127.0.0.1', port: v.adminPort, secret: v.secret })
t.teardown(() => cli.close())

async function newestSpec(): Promise<string | undefined> {
  return (await cli.banList())[0]?.spec
}

t.test('a URL regex ban shows up verbatim at the top of ban.list', async (t) => {
  await cli.ban('obj.http.x-url ~ ^/news/2024/.*\\.html$')
  const [top] = await cli.banList()
  t.equal(top?.spec, 'obj.http.x-url ~ ^/news/2024/.*\\.html$')
  t.equal(top?.completed, false)
  t.type(top?.time, 'number')
  t.ok(Math.abs(top!.time * 1000 - Date.now()) < 60_000, 'time is now-ish (epoch seconds)')
})

t.test('several conditions joined with &&, quotes and backslashes survive', async (t) => {
  // In a double-quoted argument \" and \\ are escapes; elsewhere a backslash is taken as it is.
  await cli.ban('obj.http.x-url ~ "^/a\\"b\\\\.c" && obj.status == 200 && obj.http.x-url !~ \\.css$')
  t.equal(await newestSpec(), 'obj.http.x-url ~ ^/a"b\\.c && obj.status == 200 && obj.http.x-url !~ \\.css$')
})

t.test('whitespace inside a regex argument is sent as \\x20 (7.1.1 would split it)', async (t) => {
  await cli.ban('obj.http.x-url ~ "^/with space/and\\ escaped"')
  t.equal(await newestSpec(), 'obj.http.x-url ~ ^/with\\x20space/and\\x20escaped')
})

t.test('a ban varnishd rejects is a VarnishCliCommandFailed with its status and text', async (t) => {
  const err = await cli.ban('obj.http.x-url ~ ^/unclosed(').catch((e: unknown) => e)
  t.type(err, VarnishCliCommandFailed)
  t.equal((err as VarnishCliCommandFailed).status, 106)
  t.match((err as VarnishCliCommandFailed).body, /missing closing parenthesis|Regex compile error/i)
  t.equal((err as VarnishCliCommandFailed).code, 'TESSERA_VARNISH_COMMAND')
})

t.test('malformed expressions are refused before they reach varnishd', async (t) => {
  for (const bad of [
    'obj.http.x-url ~',
    'obj.http.x-url ~ ^/a obj.status == 200',
    'obj.http.x-url ~ ^/a || obj.status == 200',
    'beresp.http.x ~ a',
    'obj.http.x-url =~ a',
    'obj.http.x-url == "a b"',
    'obj.http.x-url ~ "unterminated',
    'obj.http.x-url ~ a"b',
    'obj.http.x-url ~ "a"b',
  ]) {
    await t.rejects(cli.ban(bad), InvalidBan, bad)
  }
})

t.test('a prefix ban from banExpressionForUrl invalidates exactly the matching cached objects', async (t) => {
  const get = async (url: string) => {
    const r = await fetch(`http://127.0.0.1:${v.httpPort}${url}`)
    await r.text()
    return { hit: (r.headers.get('x-varnish') ?? '').trim().includes(' ') }
  }
  for (const u of ['/news/2024/a.html', '/news/2024/b.html?x=1', '/newsletter', '/sport/x']) await get(u)
  t.same(await Promise.all(['/news/2024/a.html', '/newsletter'].map(get)), [{ hit: true }, { hit: true }])

  const expr = banExpressionForUrl('prefix', '/news/2024/')
  t.equal(expr, 'obj.http.x-url ~ ^/news/2024/')
  await cli.ban(expr)
  t.equal(await newestSpec(), 'obj.http.x-url ~ ^/news/2024/')

  t.same((await get('/news/2024/a.html')).hit, false, 'banned object is refetched')
  t.same((await get('/news/2024/b.html?x=1')).hit, false)
  t.same((await get('/newsletter')).hit, true, 'a URL that only shares letters is kept')
  t.same((await get('/sport/x')).hit, true)

  const dotted = banExpressionForUrl('prefix', '/sport/x?y=(1)')
  t.equal(dotted, 'obj.http.x-url ~ ^/sport/x\\?y=\\(1\\)')
  await cli.ban(dotted)
  t.equal(await newestSpec(), 'obj.http.x-url ~ ^/sport/x\\?y=\\(1\\)')
})
