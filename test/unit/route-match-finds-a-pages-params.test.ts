import t from 'tap'
import { matchPath } from '../../fragments/kit/route-match.js'

t.test('a pattern matches a path segment by segment and names its params', async (t) => {
  t.same(matchPath('/articles/:slug', '/articles/harbour-opens'), { slug: 'harbour-opens' })
  t.same(matchPath('/', '/'), {})
  t.same(matchPath('/fragments/sections/:slot/:scopeKind/:scopeId', '/fragments/sections/sidebar/section/news'), { slot: 'sidebar', scopeKind: 'section', scopeId: 'news' })
  t.same(matchPath('/fragments/article/front/:list', '/fragments/article/front/section-news'), { list: 'section-news' })
})

t.test('a param is one segment; anything else does not match', async (t) => {
  t.equal(matchPath('/articles/:slug', '/articles/a/b'), undefined)
  t.equal(matchPath('/articles/:slug', '/articles/'), undefined)
  t.equal(matchPath('/articles/:slug', '/sections/news'), undefined)
  t.equal(matchPath('/fragments/article/:id', '/fragments/article/front/latest'), undefined)
  t.equal(matchPath('/', '/x'), undefined)
})
