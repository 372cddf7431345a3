import t from 'tap'
import { buildContentApi } from '../../content/api/app.js'
import { openStore } from './store.js'

const TOKEN = 'editor-token-for-tests-0123456789'
const auth = { authorization: `Bearer ${TOKEN}` }
const article = { slug: 'night-buses', title: 'Night buses return', section: 'news', body: 'One.\n\nTwo.', publishedAt: '2024-05-01T08:00:00.000Z' }

async function setup(t: { teardown(fn: () => unknown): void }) {
  const store = await openStore(t)
  const app = buildContentApi({ repo: store.repo, editorToken: TOKEN, logLevel: 'silent' })
  t.teardown(() => app.close())
  await app.ready()
  return { store, app }
}

t.test('without the editor token every route answers 401 and nothing changes', async (t) => {
  const { store, app } = await setup(t)
  await app.inject({ method: 'PUT', url: '/sections/news', headers: auth, payload: { title: 'News', position: 1 } })
  const before = await store.snapshot()

  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/articles'],
    ['GET', '/articles/1'],
    ['PUT', '/articles/1', article],
    ['DELETE', '/articles/1'],
    ['GET', '/sections'],
    ['GET', '/sections/news'],
    ['PUT', '/sections/news', { title: 'Hijacked', position: 1 }],
    ['DELETE', '/sections/news'],
    ['GET', '/blocks?slot=main'],
    ['GET', '/blocks/b1'],
    ['PUT', '/blocks/b1', { slot: 'main', kind: 'text', content: 'x', position: 1 }],
    ['DELETE', '/blocks/b1'],
    ['GET', '/nav'],
    ['PUT', '/nav', { entries: [] }],
    ['GET', '/search?q=news'],
  ]
  const badHeaders = [{}, { authorization: 'Bearer wrong-token-wrong-token-00' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]
  for (const [method, url, payload] of routes) {
    for (const headers of badHeaders) {
      const res = await app.inject({ method: method as 'GET', url, headers, ...(payload ? { payload: payload as object } : {}) })
      t.equal(res.statusCode, 401, `${method} ${url} with ${JSON.stringify(headers)}`)
      t.equal(res.json().error.code, 'TESSERA_UNAUTHORIZED')
    }
  }
  const huge = await app.inject({ method: 'PUT', url: '/articles/1', payload: { ...article, body: 'x'.repeat(400 * 1024) } })
  t.equal(huge.statusCode, 401, 'a huge body without a token is refused as unauthorised, before it is read')
  t.same(await store.snapshot(), before, 'nothing changed')
  t.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200, 'only the health check is open')
})

t.test('PUT answers 201 then 200 with the saved record; GET returns it; DELETE 204 then 404', async (t) => {
  const { app } = await setup(t)
  const s = await app.inject({ method: 'PUT', url: '/sections/news', headers: auth, payload: { title: 'News', position: 1 } })
  t.equal(s.statusCode, 201)
  t.same(s.json(), { slug: 'news', title: 'News', position: 1 })

  const created = await app.inject({ method: 'PUT', url: '/articles/1', headers: auth, payload: article })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { id: '1', ...article, updatedAt: String })
  const updated = await app.inject({ method: 'PUT', url: '/articles/1', headers: auth, payload: { ...article, title: 'Night buses are back' } })
  t.equal(updated.statusCode, 200)
  t.equal(updated.json().title, 'Night buses are back')
  const got = await app.inject({ method: 'GET', url: '/articles/1', headers: auth })
  t.same(got.json(), updated.json())

  const list = await app.inject({ method: 'GET', url: '/articles?offset=0&limit=5', headers: auth })
  t.same(list.json(), { items: [updated.json()], total: 1, offset: 0, limit: 5, next: null })

  const blk = await app.inject({ method: 'PUT', url: '/blocks/promo', headers: auth, payload: { slot: 'sidebar', kind: 'snippet', content: '{{#if a}}A{{/if}}', position: 2, startsAt: '2030-01-01T00:00:00Z', endsAt: '2030-01-02T00:00:00Z' } })
  t.equal(blk.statusCode, 201)
  t.match(blk.json(), { id: 'promo', slot: 'sidebar', startsAt: '2030-01-01T00:00:00.000Z', endsAt: '2030-01-02T00:00:00.000Z' })
  t.same((await app.inject({ method: 'GET', url: '/blocks?slot=sidebar', headers: auth })).json(), { items: [blk.json()] })
  t.same((await app.inject({ method: 'GET', url: '/blocks?slot=main', headers: auth })).json(), { items: [] })
  t.same((await app.inject({ method: 'GET', url: '/blocks/promo', headers: auth })).json(), blk.json())

  const nav = await app.inject({ method: 'PUT', url: '/nav', headers: auth, payload: { entries: [{ label: 'Home', href: '/' }] } })
  t.equal(nav.statusCode, 201)
  t.equal((await app.inject({ method: 'PUT', url: '/nav', headers: auth, payload: { entries: [] } })).statusCode, 200)
  t.same((await app.inject({ method: 'GET', url: '/nav', headers: auth })).json().entries, [])

  t.same((await app.inject({ method: 'GET', url: '/sections', headers: auth })).json(), { items: [s.json()] })
  t.same((await app.inject({ method: 'GET', url: '/search?q=NIGHT', headers: auth })).json(), { items: [{ kind: 'article', id: '1', title: 'Night buses are back' }] })

  const del = await app.inject({ method: 'DELETE', url: '/articles/1', headers: auth })
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  t.equal((await app.inject({ method: 'GET', url: '/articles/1', headers: auth })).statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url: '/blocks/promo', headers: auth })).statusCode, 204)
  t.equal((await app.inject({ method: 'DELETE', url: '/sections/news', headers: auth })).statusCode, 204)
})

t.test('missing things are 404 JSON errors', async (t) => {
  const { app } = await setup(t)
  for (const [method, url] of [
    ['GET', '/articles/404'],
    ['DELETE', '/articles/404'],
    ['GET', '/sections/none'],
    ['DELETE', '/sections/none'],
    ['GET', '/blocks/none'],
    ['DELETE', '/blocks/none'],
    ['GET', '/nav'],
    ['GET', '/no-such-route'],
  ] as const) {
    const res = await app.inject({ method, url, headers: auth })
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.equal(res.json().error.code, 'TESSERA_NOT_FOUND')
    t.type(res.json().error.message, 'string')
  }
})

t.test('bad requests are 400 with the field, and change nothing', async (t) => {
  const { store, app } = await setup(t)
  await app.inject({ method: 'PUT', url: '/sections/news', headers: auth, payload: { title: 'News', position: 1 } })
  await app.inject({ method: 'PUT', url: '/articles/1', headers: auth, payload: article })
  const before = await store.snapshot()

  const cases: Array<[string, string, unknown, string]> = [
    ['PUT', '/articles/Bad_Id', article, 'id'],
    ['GET', '/articles/UPPER', undefined, 'id'],
    ['DELETE', '/sections/no:colons', undefined, 'slug'],
    ['PUT', '/articles/2', { ...article, slug: 'other', title: '' }, 'title'],
    ['PUT', '/articles/2', { ...article, slug: 'other', section: 'missing' }, 'section'],
    ['PUT', '/articles/2', { ...article, slug: 'other', publishedAt: '2024-13-01T00:00:00Z' }, 'publishedAt'],
    ['PUT', '/articles/2', { ...article, slug: 'other', extra: true }, 'extra'],
    ['PUT', '/articles/2', [article], 'input'],
    ['PUT', '/sections/culture', { title: 'Culture' }, 'position'],
    ['PUT', '/blocks/b1', { slot: 'main', kind: 'snippet', content: '{{/if}}', position: 1 }, 'content'],
    ['PUT', '/blocks/b1', { slot: 'main', kind: 'text', content: 'x', position: 1, startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }, 'endsAt'],
    ['PUT', '/nav', { entries: [{ label: 'x', href: 'javascript:alert(1)' }] }, 'entries[0].href'],
    ['GET', '/articles?limit=0', undefined, 'limit'],
    ['GET', '/articles?limit=abc', undefined, 'limit'],
    ['GET', '/articles?offset=-1', undefined, 'offset'],
    ['GET', '/articles?limit=1&limit=2', undefined, 'limit'],
    ['GET', '/blocks?slot=footer', undefined, 'slot'],
    ['GET', '/search', undefined, 'q'],
    ['GET', `/search?q=${'x'.repeat(201)}`, undefined, 'q'],
  ]
  for (const [method, url, payload, field] of cases) {
    const res = await app.inject({ method: method as 'GET', url, headers: auth, ...(payload !== undefined ? { payload: payload as object } : {}) })
    t.equal(res.statusCode, 400, `${method} ${url} -> 400`)
    t.match(res.json(), { error: { code: 'TESSERA_INVALID_INPUT', field, message: String } }, `${method} ${url} names ${field}`)
  }
  const notJson = await app.inject({ method: 'PUT', url: '/articles/2', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"slug":' })
  t.equal(notJson.statusCode, 400, 'malformed JSON is 400')
  t.same(await store.snapshot(), before, 'nothing changed')
})

t.test('a body over 256 KB is 413 and changes nothing; conflicts are 409', async (t) => {
  const { store, app } = await setup(t)
  await app.inject({ method: 'PUT', url: '/sections/news', headers: auth, payload: { title: 'News', position: 1 } })
  await app.inject({ method: 'PUT', url: '/articles/1', headers: auth, payload: article })
  const before = await store.snapshot()

  const huge = await app.inject({ method: 'PUT', url: '/articles/2', headers: auth, payload: { ...article, slug: 'huge', body: 'x'.repeat(300 * 1024) } })
  t.equal(huge.statusCode, 413)
  t.equal(huge.json().error.code, 'TESSERA_PAYLOAD_TOO_LARGE')
  const bigButAllowed = await app.inject({ method: 'PUT', url: '/articles/2', headers: auth, payload: { ...article, slug: 'big', body: 'x'.repeat(210 * 1024) } })
  t.equal(bigButAllowed.statusCode, 400, 'under the request limit but over the body limit: 400 body')
  t.equal(bigButAllowed.json().error.field, 'body')

  const taken = await app.inject({ method: 'PUT', url: '/articles/2', headers: auth, payload: article })
  t.equal(taken.statusCode, 409)
  t.match(taken.json(), { error: { code: 'TESSERA_CONFLICT', field: 'slug' } })
  const inUse = await app.inject({ method: 'DELETE', url: '/sections/news', headers: auth })
  t.equal(inUse.statusCode, 409)
  t.match(inUse.json(), { error: { code: 'TESSERA_CONFLICT', field: 'slug' } })
  t.same(await store.snapshot(), before, 'nothing changed')
})

t.test('the API refuses to be built without a token', async (t) => {
  const { store } = await setup(t)
  t.throws(() => buildContentApi({ repo: store.repo, editorToken: '' }), /editorToken/)
})
