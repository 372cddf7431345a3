import t from 'tap'
import { parsePurgeRequest } from '../../purge-service/request.js'

t.test('every form of purge request maps to surrogate keys and URLs', async (t) => {
  t.same(parsePurgeRequest({ keys: ['nav', 'list:latest'] }), { target: { keys: ['nav', 'list:latest'], urls: [] }, mode: 'hard', warm: false })
  t.same(parsePurgeRequest({ articles: ['42'], sections: ['news'], blocks: ['promo'], mode: 'soft', warm: true }), {
    target: { keys: ['article:42', 'article-head:42', 'article-teaser:42', 'article-link:42', 'section:news', 'section-title:news', 'list:section-news.12', 'nav-sections', 'block:promo'], urls: [] },
    mode: 'soft',
    warm: true,
  })
  t.same(parsePurgeRequest({ urls: ['/articles/x', '/articles/x'] }).target.urls, ['/articles/x'], 'duplicates dropped')
})

t.test('a legacy CMS\'s own surrogate keys (xkey, Fastly-style Surrogate-Key) are accepted as sent', async (t) => {
  const legacy = ['video-harbour-at-dawn', 'Video_12', '12345', 'cms/page/7', 'channel:Pets', 'a'.repeat(1024), 'node_list', 'config:system.site', 'user@example.com', 'tag:c++', 'k=v', 'page%2Fa']
  t.same(parsePurgeRequest({ keys: legacy }).target.keys, legacy)
})

t.test('bad requests are refused with the field at fault', async (t) => {
  const bad: Array<[unknown, string]> = [
    [null, 'body'],
    ['nav', 'body'],
    [{}, 'body'],
    [{ keys: 'nav' }, 'keys'],
    [{ keys: ['nav', 7] }, 'keys[1]'],
    [{ keys: ['obj.http.xkey ~ .'] }, 'keys[0]'],
    [{ keys: ['nav', 'two keys'] }, 'keys[1]'],
    [{ keys: ['a,b'] }, 'keys[0]'],
    [{ keys: [''] }, 'keys[0]'],
    [{ keys: ['tab\there'] }, 'keys[0]'],
    [{ keys: ['line\nbreak'] }, 'keys[0]'],
    [{ keys: ['caf\u00e9'] }, 'keys[0]'],
    [{ keys: ['a'.repeat(1025)] }, 'keys[0]'],
    ...['"nav"', "nav'", 'nav\\', 'nav&&obj.status==200', 'nav|x', 'nav;x', '$(reboot)', 'nav(1)', 'nav<x', 'nav*', 'nav!', '-nav', ':x'].map(
      (key): [Record<string, unknown>, string] => [{ keys: [key] }, 'keys[0]'],
    ),
    [{ articles: ['../etc'] }, 'articles[0]'],
    [{ urls: ['//evil.example/'] }, 'urls[0]'],
    [{ urls: ['/a b'] }, 'urls[0]'],
    [{ keys: ['nav'], mode: 'HARD' }, 'mode'],
    [{ keys: ['nav'], warm: 'yes' }, 'warm'],
    [{ keys: ['nav'], purgeEverything: true }, 'purgeEverything'],
  ]
  for (const [body, field] of bad) {
    const error = t.throws(() => parsePurgeRequest(body), JSON.stringify(body)) as { field?: string; statusCode?: number }
    t.equal(error.field, field)
    t.equal(error.statusCode, 400)
  }
})

t.test('the 1000 limit counts what the request names: an article is one, though every object showing it is purged', async (t) => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `a${i}`)
  t.equal(parsePurgeRequest({ articles: ids(1000) }).target.keys.length, 4000)
  t.throws(() => parsePurgeRequest({ articles: ids(1000), urls: ['/'] }), /at most 1000/)
})
