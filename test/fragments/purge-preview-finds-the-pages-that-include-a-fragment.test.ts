import { Redis } from 'ioredis'
import t from 'tap'

import { buildLayoutApp } from '../../layouts/app.js'
import { ContentRepository } from '../../content/repository.js'
import { seedDemoContent } from '../../content/seed.js'
import { recordKeyUrls, urlsAffectedBy } from '../../cache/key-index.js'
import { startRedis } from '../support/redis.js'

const server = await startRedis(t)
const redis = new Redis(server.url)
t.teardown(() => redis.disconnect())

t.test('a rendered shell is indexed under inc:<URL> of each include, so a purge of a fragment key finds its pages', async (t) => {
  const content = new ContentRepository(redis)
  await seedDemoContent(content)
  const layout = buildLayoutApp({ content, redis, logLevel: 'silent' })
  t.teardown(() => layout.close())
  const home = await layout.inject({ url: '/' })
  t.equal(home.statusCode, 200)
  const includes = home.headers['x-tessera-includes']!.toString().split(' ')
  t.same(includes, ['/fragments/nav', '/fragments/sections/nav', '/fragments/sections/main', '/fragments/article/front/latest', '/fragments/sidebar', '/fragments/sections/sidebar'])
  for (const src of includes) t.match(home.body, `<esi:include src="${src}"/>`, `the header names ${src}, which the html includes`)
  t.equal((home.body.match(/<esi:include/g) ?? []).length, includes.length, 'and nothing else')

  // (as a fragment service records its own objects when it renders them)
  await recordKeyUrls(redis, ['fragment:nav', 'nav'], '/fragments/nav')
  await new Promise((r) => setTimeout(r, 50)) // the layout records its index entry after answering
  t.same(await urlsAffectedBy(redis, ['nav'], []), ['/', '/fragments/nav'], 'the nav key: nav, and the page that includes it')
  t.same(await urlsAffectedBy(redis, [], ['/fragments/sections/main']), ['/', '/fragments/sections/main'], 'a fragment URL: it, and its pages')
  t.same(await urlsAffectedBy(redis, ['no-such-key'], []), [], 'nothing for a key nothing carries')
})
