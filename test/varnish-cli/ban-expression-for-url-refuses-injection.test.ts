import t from 'tap'

import { banExpressionForUrl } from '../../purge-service/bans.js'
import { banTokens, InvalidBan } from '../../varnish-cli/varnish-cli.js'

t.test('prefixes become anchored regexes with metacharacters escaped', async (t) => {
  const table: Array<[string, string]> = [
    ['/', 'obj.http.x-url ~ ^/'],
    ['/news/', 'obj.http.x-url ~ ^/news/'],
    ['/a.b', 'obj.http.x-url ~ ^/a\\.b'],
    ['/q?x=1&y=2', 'obj.http.x-url ~ ^/q\\?x=1&y=2'],
    ["/p(1)+*$!'", "obj.http.x-url ~ ^/p\\(1\\)\\+\\*\\$!'"],
    ['/caf%C3%A9', 'obj.http.x-url ~ ^/caf%C3%A9'],
  ]
  for (const [input, expected] of table) {
    const expr = banExpressionForUrl('prefix', input)
    t.equal(expr, expected, input)
    // The produced regex matches the prefix itself (and what follows), as a JS regex too.
    t.ok(new RegExp(expr.slice('obj.http.x-url ~ '.length)).test(`${input}tail`), `${input} matches itself`)
    t.same(banTokens(expr), ['obj.http.x-url', '~', expected.slice('obj.http.x-url ~ '.length)])
  }
})

t.test('regexes pass through when safe', async (t) => {
  t.equal(banExpressionForUrl('regex', '^/news/\\d+\\.html$'), 'obj.http.x-url ~ ^/news/\\d+\\.html$')
  t.equal(banExpressionForUrl('regex', '\\.css$'), 'obj.http.x-url ~ \\.css$')
})

t.test('injection attempts and junk are refused with InvalidBan (400)', async (t) => {
  const table: Array<['prefix' | 'regex', string, RegExp]> = [
    ['prefix', '/a && obj.status == 200', /site path/],
    ['prefix', '/a&&obj.status==200', /&&/],
    ['prefix', 'news/', /site path/],
    ['prefix', '', /non-empty/],
    ['prefix', '/a"b', /site path/],
    ['prefix', '/a\\b', /site path/],
    ['prefix', '/a\nreq.url ~ .', /site path/],
    ['prefix', '/a\tb', /site path/],
    ['prefix', '/a b', /site path/],
    ['prefix', '/100%', /%XX/],
    ['prefix', '/é', /site path/],
    ['prefix', '/a[1]', /site path/],
    ['prefix', '/a{1}|b', /site path/],
    ['prefix', `/${'a'.repeat(300)}`, /at most 256/],
    ['regex', '^/a && obj.status == 200', /whitespace/],
    ['regex', '^/a\n&&\nobj.status\n==\n200', /whitespace/],
    ['regex', '^/a\u00a0&&', /whitespace/],
    ['regex', '^/a"', /double quotes/],
    ['regex', '^/a\u0000', /control/],
    ['regex', '(unclosed', /does not compile/],
    ['regex', '[z-a]', /does not compile/],
    ['regex', '', /non-empty/],
    ['regex', `^/${'a'.repeat(300)}`, /at most 256/],
  ]
  for (const [kind, value, message] of table) {
    const err = (() => { try { banExpressionForUrl(kind, value); return undefined } catch (e) { return e } })()
    t.type(err, InvalidBan, `${kind} ${JSON.stringify(value)}`)
    t.match((err as InvalidBan).message, message, `${kind} ${JSON.stringify(value)}`)
    t.equal((err as InvalidBan).statusCode, 400)
    t.equal((err as InvalidBan).code, 'TESSERA_INVALID_BAN')
  }
  t.throws(() => banExpressionForUrl('other' as 'regex', '^/'), InvalidBan)
})
