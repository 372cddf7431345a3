import t from 'tap'
import type { ChangeEvent } from '../../content/model.js'
import { openContentApi, TEST_EDITOR_TOKEN as TOKEN } from './store.js'

const auth = { authorization: `Bearer ${TOKEN}` }
const article = { slug: 'night-buses', title: 'Night buses return', section: 'news', body: 'One.\n\nTwo.', summary: 'Buses.', publishedAt: '2024-05-01T08:00:00.000Z' }
const block = { slot: 'sidebar', kind: 'text', content: 'Hello', position: 2 }
const patchType = { 'content-type': 'application/merge-patch+json' }

async function setup(t: { teardown(fn: () => unknown): void }) {
  const { store, app } = await openContentApi(t)
  const call = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method: method as 'GET', url, headers: { ...auth, ...headers }, ...(payload !== undefined ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) } : {}), ...(payload !== undefined && !headers['content-type'] ? { headers: { ...auth, ...headers, 'content-type': 'application/json' } } : {}) })
  await call('PUT', '/sections/news', { title: 'News', position: 1 })
  return { store, app, call }
}

t.test('PUT accepts exactly what GET returned, for articles, sections, blocks and nav', async (t) => {
  const { call, store } = await setup(t)
  t.equal((await call('PUT', '/articles/60', article)).statusCode, 201)
  t.equal((await call('PUT', '/blocks/promo', block)).statusCode, 201)
  t.equal((await call('PUT', '/nav', { entries: [{ label: 'Home', href: '/' }] })).statusCode, 201)
  for (const url of ['/articles/60', '/sections/news', '/blocks/promo', '/nav']) {
    const got = await call('GET', url)
    const edited = { ...got.json(), ...(url === '/nav' ? {} : { title: 'Changed by a round trip' }) }
    if (url === '/blocks/promo') delete edited.title
    if (url === '/blocks/promo') edited.content = 'Changed by a round trip'
    const put = await call('PUT', url, edited)
    t.equal(put.statusCode, 200, `PUT ${url} with the GET body (id and updatedAt included) is accepted`)
    const again = (await call('GET', url)).json()
    if (url !== '/nav') t.ok(again.title === 'Changed by a round trip' || again.content === 'Changed by a round trip', `${url} changed`)
    t.not(again.updatedAt ?? 'none', got.json().updatedAt ?? 'other', `${url}: updatedAt is the store's, not the one sent`)
  }
  t.equal((await store.repo.getArticle('60'))!.title, 'Changed by a round trip')
})

t.test('an id or slug in the body other than the URL’s is a 400 naming both; nothing is written', async (t) => {
  const { call, store } = await setup(t)
  await call('PUT', '/articles/60', article)
  await call('PUT', '/blocks/promo', block)
  const before = await store.snapshot()
  const cases: Array<[string, unknown, string]> = [
    ['/articles/60', { ...article, id: '61' }, 'id'],
    ['/articles/60', { ...article, id: 60 }, 'id'],
    ['/sections/news', { slug: 'sport', title: 'News', position: 1 }, 'slug'],
    ['/blocks/promo', { ...block, id: 'other' }, 'id'],
    ['/articles/60', { ...article, updatedAt: 'yesterday' }, 'updatedAt'],
  ]
  for (const [url, body, field] of cases) {
    const res = await call('PUT', url, body)
    t.equal(res.statusCode, 400, `${url} ${JSON.stringify(body).slice(0, 60)}`)
    t.equal(res.json().error.field, field)
    if (field !== 'updatedAt') {
      const sent = String((body as Record<string, unknown>)[field])
      t.match(res.json().error.message, sent, 'names the body’s value')
      t.match(res.json().error.message, url.split('/')[2]!, 'names the URL’s')
    }
  }
  t.same(await store.snapshot(), before, 'nothing changed')
})

t.test('PATCH with a merge patch changes only the named fields, validates the result, and its event has before/after', async (t) => {
  const { call, store } = await setup(t)
  const created = (await call('PUT', '/articles/60', article)).json()
  const eventsBefore = (await store.events()).length

  const res = await call('PATCH', '/articles/60', { summary: 'A new summary.', author: 'Ines' }, patchType)
  t.equal(res.statusCode, 200)
  t.same({ ...res.json(), updatedAt: 'x' }, { ...created, summary: 'A new summary.', author: 'Ines', updatedAt: 'x' }, 'only summary and author changed')
  const events = await store.events()
  t.equal(events.length, eventsBefore + 1, 'one event')
  const e = events.at(-1) as ChangeEvent
  t.same(e, { kind: 'article', id: '60', op: 'put', at: e.at, before: created, after: res.json() })

  const removed = await call('PATCH', '/articles/60', { author: null, id: '60', updatedAt: created.updatedAt }, patchType)
  t.equal(removed.statusCode, 200, 'the echoed id and updatedAt are accepted in a patch too')
  t.notOk('author' in removed.json(), 'null removes a field')

  const snap = await store.snapshot()
  const bad = await call('PATCH', '/articles/60', { title: null }, patchType)
  t.equal(bad.statusCode, 400, 'removing a required field: the whole result is validated')
  t.equal(bad.json().error.field, 'title')
  t.equal((await call('PATCH', '/articles/60', { section: 'sport' }, patchType)).json().error.field, 'section', 'the result obeys the rules too')
  t.equal((await call('PATCH', '/articles/60', { id: '61' }, patchType)).json().error.field, 'id')
  t.equal((await call('PATCH', '/articles/60', [1], patchType)).statusCode, 400, 'a patch is an object')
  const plainJson = await call('PATCH', '/articles/60', { title: 'x' })
  t.equal(plainJson.statusCode, 415, 'PATCH takes application/merge-patch+json only')
  t.equal(plainJson.json().error.code, 'TESSERA_UNSUPPORTED_MEDIA_TYPE')
  t.equal((await call('PATCH', '/articles/61', { title: 'x' }, patchType)).statusCode, 404, 'PATCH does not create')
  t.same(await store.snapshot(), snap, 'refused patches wrote nothing')

  t.equal((await call('PATCH', '/sections/news', { description: 'All of it.' }, patchType)).json().description, 'All of it.')
  t.same((await call('GET', '/sections/news')).json(), { slug: 'news', title: 'News', position: 1, description: 'All of it.' })
  await call('PUT', '/blocks/promo', block)
  const moved = await call('PATCH', '/blocks/promo', { slot: 'main' }, patchType)
  t.match(moved.json(), { id: 'promo', slot: 'main', kind: 'text', content: 'Hello', position: 2 })
  t.same((await call('GET', '/blocks?slot=main')).json().items.map((b: { id: string }) => b.id), ['promo'], 'the slot index follows a patched slot')
  const blockEvent = (await store.events()).at(-1)!
  t.equal((blockEvent.before as { slot: string }).slot, 'sidebar')
  t.equal((blockEvent.after as { slot: string }).slot, 'main')
})

t.test('GET sends a strong ETag; If-Match guards PUT, PATCH and DELETE (412 with the current ETag, nothing written)', async (t) => {
  const { call, store } = await setup(t)
  const created = await call('PUT', '/articles/60', article)
  const got = await call('GET', '/articles/60')
  const etag = got.headers.etag as string
  t.match(etag, /^"[A-Za-z0-9_-]+"$/, 'a strong ETag')
  t.equal(created.headers.etag, etag, 'PUT answers the ETag a GET then sends')
  t.equal((await call('GET', '/articles/60', undefined, { 'if-none-match': etag })).statusCode, 304, 'a GET naming the current ETag is a 304')

  const first = await call('PATCH', '/articles/60', { title: 'First editor' }, { ...patchType, 'if-match': etag })
  t.equal(first.statusCode, 200)
  const newTag = first.headers.etag as string
  t.not(newTag, etag, 'a write changes the ETag')
  t.equal((await call('GET', '/articles/60')).headers.etag, newTag)

  const snap = await store.snapshot()
  const refusals: Array<[string, unknown, Record<string, string>]> = [
    ['PUT', { ...(got.json() as object), title: 'Second editor' }, { 'if-match': etag }],
    ['PATCH', { title: 'Second editor' }, { ...patchType, 'if-match': etag }],
    ['DELETE', undefined, { 'if-match': etag }],
    ['PUT', article, { 'if-none-match': '*' }],
    ['PUT', article, { 'if-match': `W/${newTag}` }],
  ]
  for (const [method, body, headers] of refusals) {
    const res = await call(method, '/articles/60', body, headers)
    t.equal(res.statusCode, 412, `${method} ${JSON.stringify(headers)}`)
    t.equal(res.headers.etag, newTag, 'the answer carries the current ETag')
    t.equal(res.json().error.code, 'TESSERA_PRECONDITION_FAILED')
  }
  t.same(await store.snapshot(), snap, 'nothing was written')

  t.equal((await call('PUT', '/articles/60', { ...article, title: 'Still mine' }, { 'if-match': `"nope", ${newTag}` })).statusCode, 200, 'any listed ETag matches')
  t.equal((await call('PUT', '/articles/61', { ...article, slug: 'other' }, { 'if-match': '*' })).statusCode, 412, 'If-Match: * needs a record')
  t.equal((await call('PUT', '/articles/61', { ...article, slug: 'other' }, { 'if-none-match': '*' })).statusCode, 201, 'If-None-Match: * creates')
  t.equal((await call('PUT', '/articles/61', { ...article, slug: 'other' }, { 'if-match': 'not-a-tag' })).json().error.field, 'if-match', 'a malformed header is a 400')
  const current = (await call('GET', '/articles/61')).headers.etag as string
  t.equal((await call('DELETE', '/articles/61', undefined, { 'if-match': current })).statusCode, 204, 'DELETE with the current ETag')
  t.equal((await call('DELETE', '/articles/61', undefined, { 'if-match': current })).statusCode, 412, 'and then there is nothing to match')
  t.equal((await call('PUT', '/articles/60', { ...article, title: 'No header: last write wins' })).statusCode, 200)

  const s = await call('GET', '/sections/news')
  t.equal((await call('PATCH', '/sections/news', { title: 'N' }, { ...patchType, 'if-match': '"stale"' })).statusCode, 412)
  t.equal((await call('PATCH', '/sections/news', { title: 'N' }, { ...patchType, 'if-match': s.headers.etag as string })).statusCode, 200)
  await call('PUT', '/blocks/promo', block)
  const b = await call('GET', '/blocks/promo')
  t.equal((await call('PUT', '/blocks/promo', block, { 'if-match': '"stale"' })).statusCode, 412)
  t.equal((await call('DELETE', '/blocks/promo', undefined, { 'if-match': b.headers.etag as string })).statusCode, 204)
  const nav = await call('PUT', '/nav', { entries: [] })
  t.equal((await call('PUT', '/nav', { entries: [] }, { 'if-match': '"stale"' })).statusCode, 412)
  t.equal((await call('PUT', '/nav', { entries: [] }, { 'if-match': nav.headers.etag as string })).statusCode, 200)
})

t.test('two editors with the same ETag racing on separate connections: exactly one wins, the other gets 412', async (t) => {
  const { store } = await setup(t)
  await store.repo.putArticle('60', article)
  const etag = (await store.repo.putArticle('60', article)).etag
  const other = store.connect().repo
  const results = await Promise.allSettled([
    store.repo.patchArticle('60', { title: 'Editor A' }, { ifMatch: [etag] }),
    other.patchArticle('60', { summary: 'Editor B' }, { ifMatch: [etag] }),
  ])
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one write went through')
  const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
  t.equal(refused.reason.code, 'TESSERA_PRECONDITION_FAILED')
  const now = (await store.repo.getArticle('60'))!
  t.ok((now.title === 'Editor A') !== (now.summary === 'Editor B'), 'only the winner’s change is in the store')
})
