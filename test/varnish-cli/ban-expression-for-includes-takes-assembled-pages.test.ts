import t from 'tap'

import { banExpressionForIncludes, banTokens, InvalidBan } from '../../purge-service/varnish-cli.js'

// An assembled page's X-Tessera-Includes as the layout writes it (space-separated include URLs).
const includes = '/fragments/nav /fragments/sections/nav /fragments/article/42 /fragments/sidebar /fragments/sections/sidebar'

const patternOf = (expression: string): RegExp => new RegExp(expression.replace(/^.* ~ /, ''))

t.test('a prefix ban also matches assembled pages that include a URL with that prefix, anywhere in the list', async (t) => {
  const expression = banExpressionForIncludes('prefix', '/fragments/article/')
  t.equal(expression, 'obj.http.X-Tessera-Tier == page && obj.http.X-Tessera-Includes ~ (^|\\s)/fragments/article/')
  t.ok(patternOf(expression).test(includes), 'in the middle of the list')
  t.notOk(patternOf(expression).test('/fragments/nav /fragments/sidebar'), 'not a page without it')
  t.ok(patternOf(banExpressionForIncludes('prefix', '/fragments/nav')).test(includes), 'at the start of the list')
  t.notOk(patternOf(banExpressionForIncludes('prefix', '/fragments/sidebar')).test('/x/fragments/sidebar'), 'only at a URL start')
  t.same(banTokens(expression), ['obj.http.X-Tessera-Tier', '==', 'page', '&&', 'obj.http.X-Tessera-Includes', '~', '(^|\\s)/fragments/article/'])
})

t.test('a regex ban keeps its meaning inside the list: anchors become separators', async (t) => {
  const exact = banExpressionForIncludes('regex', '^/fragments/sections/nav$')
  t.equal(exact, 'obj.http.X-Tessera-Tier == page && obj.http.X-Tessera-Includes ~ (^|\\s)/fragments/sections/nav(\\s|$)')
  t.ok(patternOf(exact).test(includes))
  t.notOk(patternOf(exact).test('/fragments/sections/navigation'), 'the end anchor still holds')
  t.equal(banExpressionForIncludes('regex', '\\$$'), 'obj.http.X-Tessera-Tier == page && obj.http.X-Tessera-Includes ~ \\$(\\s|$)', 'an escaped $ is not an anchor')
  t.equal(banExpressionForIncludes('regex', 'article/\\d+'), 'obj.http.X-Tessera-Tier == page && obj.http.X-Tessera-Includes ~ article/\\d+')
})

t.test('what the URL ban refuses, this refuses too', async (t) => {
  t.throws(() => banExpressionForIncludes('prefix', '/a && obj.status == 200'), InvalidBan)
  t.throws(() => banExpressionForIncludes('regex', 'a b'), InvalidBan)
})
