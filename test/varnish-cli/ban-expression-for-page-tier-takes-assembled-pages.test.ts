import t from 'tap'

import { banExpressionForPageTier } from '../../purge-service/bans.js'
import { banTokens, InvalidBan } from '../../varnish-cli/varnish-cli.js'

// A page-tier copy's xkey line as varnish/tier.vcl writes it: its includes' keys, inc:<include URL> for each,
// then asm:<id> and page-url:<its own URL>.
const keys =
  'layout:article article:42 nav inc:/fragments/nav inc:/fragments/sections/nav article:42 inc:/fragments/article/42 ' +
  'sidebar inc:/fragments/sidebar inc:/fragments/sections/sidebar asm:1234 page-url:/articles/council%2Cvotes'

const patternOf = (expression: string): RegExp => new RegExp(expression.replace(/^.* ~ /, ''))

t.test('a prefix ban takes copies that include a URL with that prefix, anywhere in the keys, and copies at such a URL', async (t) => {
  const expression = banExpressionForPageTier('prefix', '/fragments/article/')
  t.equal(expression, 'obj.http.X-Tessera-Assembly ~ ^asm: && obj.http.xkey ~ (^|\\s)(page-url|inc):/fragments/article/')
  t.ok(patternOf(expression).test(keys), 'an include in the middle of the keys')
  t.notOk(patternOf(expression).test('nav inc:/fragments/nav page-url:/'), 'not a copy without it')
  t.ok(patternOf(banExpressionForPageTier('prefix', '/articles/')).test(keys), "the copy's own URL")
  t.notOk(patternOf(banExpressionForPageTier('prefix', '/sections/')).test(keys), 'no key has that prefix')
  t.notOk(patternOf(banExpressionForPageTier('prefix', '/fragments/sidebar')).test('inc:/x/fragments/sidebar'), 'only at a URL start')
  t.notOk(patternOf(banExpressionForPageTier('prefix', '/42')).test('article:42 x/42'), 'only in URL keys')
  t.ok(patternOf(banExpressionForPageTier('prefix', '/articles/council,votes')).test(keys), 'a comma is %2C in a key')
  t.same(banTokens(expression), ['obj.http.X-Tessera-Assembly', '~', '^asm:', '&&', 'obj.http.xkey', '~', '(^|\\s)(page-url|inc):/fragments/article/'])
})

t.test('a regex ban keeps its meaning inside the keys: anchors become key boundaries', async (t) => {
  const exact = banExpressionForPageTier('regex', '^/fragments/sections/nav$')
  t.equal(exact, 'obj.http.X-Tessera-Assembly ~ ^asm: && obj.http.xkey ~ (^|\\s)(page-url|inc):/fragments/sections/nav(\\s|$)')
  t.ok(patternOf(exact).test(keys))
  t.notOk(patternOf(exact).test('inc:/fragments/sections/navigation'), 'the end anchor still holds')
  t.equal(banExpressionForPageTier('regex', '\\$$'), 'obj.http.X-Tessera-Assembly ~ ^asm: && obj.http.xkey ~ (^|\\s)(page-url|inc):\\S*\\$(\\s|$)', 'an escaped $ is not an anchor')
  const unanchored = banExpressionForPageTier('regex', 'article/\\d+')
  t.equal(unanchored, 'obj.http.X-Tessera-Assembly ~ ^asm: && obj.http.xkey ~ (^|\\s)(page-url|inc):\\S*article/\\d+')
  t.ok(patternOf(unanchored).test(keys), 'anywhere in a URL key')
  t.notOk(patternOf(unanchored).test('article:42 inc:/fragments/nav'), 'not in other keys')
})

t.test('what the URL ban refuses, this refuses too', async (t) => {
  t.throws(() => banExpressionForPageTier('prefix', '/a && obj.status == 200'), InvalidBan)
  t.throws(() => banExpressionForPageTier('regex', 'a b'), InvalidBan)
})
