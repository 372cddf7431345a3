import t from 'tap'
import { importNdjson } from '../../content/import.js'
import type { BatchEvent } from '../../content/model.js'
import { openContentApi, TEST_EDITOR_TOKEN as TOKEN } from './store.js'

const auth = { authorization: `Bearer ${TOKEN}` }
const ndjson = { ...auth, 'content-type': 'application/x-ndjson' }
const art = (id: string, extra: Record<string, unknown> = {}) => ({ kind: 'article', id, slug: `story-${id}`, title: `Story ${id}`, section: 'news', body: 'Text.', publishedAt: '2024-05-01T08:00:00.000Z', ...extra })
const lines = (...records: unknown[]) => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n'

const setup = openContentApi

t.test('POST /import answers line by line; bad lines are reported with their reason and write nothing of themselves', async (t) => {
  const { store, app } = await setup(t)

  const body = lines(
    { kind: 'section', slug: 'news', title: 'News', position: 1 },
    art('1'),
    'this is not json',
    art('2', { title: '' }),
    '',
    art('3', { section: 'nowhere' }),
    art('4', { slug: 'story-1' }),
    { kind: 'poem', id: 'x' },
    { kind: 'block', id: 'promo', slot: 'main', kind2: 1 },
    { kind: 'block', id: 'promo', slot: 'main', kindOf: 'x' },
    art('5', { id: '5', updatedAt: '2020-01-01T00:00:00Z' }),
    { kind: 'block', id: 'promo', slot: 'sidebar', kind_: 1 },
  )
  // the three block lines above carry unknown fields: each is refused by the block validator
  const res = await app.inject({ method: 'POST', url: '/import', headers: ndjson, payload: body })
  t.equal(res.statusCode, 200)
  const report = res.json()
  t.equal(report.lines, 12)
  t.equal(report.created, 3, 'section news, articles 1 and 5')
  t.equal(report.updated, 0)
  t.equal(report.failed, 8)
  const byLine = Object.fromEntries(report.results.map((r: { line: number }) => [r.line, r]))
  t.same(byLine[1], { line: 1, kind: 'section', id: 'news', result: 'created' })
  t.same(byLine[2], { line: 2, kind: 'article', id: '1', result: 'created' })
  t.match(byLine[3], { line: 3, result: 'error', error: { code: 'TESSERA_INVALID_INPUT', field: 'line', message: /not valid JSON/ } })
  t.match(byLine[4], { line: 4, kind: 'article', id: '2', result: 'error', error: { field: 'title' } })
  t.notOk(byLine[5], 'a blank line is counted, not reported')
  t.match(byLine[6], { line: 6, kind: 'article', id: '3', result: 'error', error: { field: 'section' } })
  t.match(byLine[7], { line: 7, kind: 'article', id: '4', result: 'error', error: { code: 'TESSERA_CONFLICT', field: 'slug', message: /article 1/ } })
  t.match(byLine[8], { line: 8, result: 'error', error: { field: 'kind' } })
  t.match(byLine[11], { line: 11, kind: 'article', id: '5', result: 'created' })
  for (const bad of ['2', '3', '4']) t.equal(await store.repo.getArticle(bad), undefined, `article ${bad} was not written`)
  t.equal((await store.repo.getArticle('1'))!.title, 'Story 1')

  const events = await store.events()
  t.equal(events.length, 1, 'one batch, one event')
  const batch = events[0] as unknown as BatchEvent
  t.equal(batch.kind, 'batch')
  t.same(batch.changes.map((c) => `${c.kind}:${c.id}`), ['section:news', 'article:1', 'article:5'])
  t.notOk(batch.changes[1]!.before, 'a created record has no before')

  const again = (await app.inject({ method: 'POST', url: '/import', headers: ndjson, payload: lines(art('1', { title: 'Story 1, revised' })) })).json()
  t.same(again.results, [{ line: 1, kind: 'article', id: '1', result: 'updated' }])
  const second = (await store.events())[1] as unknown as BatchEvent
  t.equal(second.changes[0]!.before && (second.changes[0]!.before as { title: string }).title, 'Story 1', 'an update carries before and after')
})

t.test('import writes in batches: one transaction and one event per batch, a file of many batches reported in order', async (t) => {
  const { store } = await setup(t)
  await store.repo.putSection('news', { title: 'News', position: 1 })
  const n = 450
  async function* chunks() {
    // split across lines on purpose: a line may arrive in several pieces
    const text = Array.from({ length: n }, (_, i) => JSON.stringify(art(String(i + 1)))).join('\r\n')
    for (let i = 0; i < text.length; i += 777) yield Buffer.from(text.slice(i, i + 777))
  }
  const report = await importNdjson(store.repo, chunks(), { lines: 10_000, lineBytes: 300 * 1024, requestBytes: 64 << 20, batch: 200 })
  t.equal(report.created, n)
  t.same(report.results.map((r) => r.line), Array.from({ length: n }, (_, i) => i + 1))
  const events = await store.events()
  t.equal(events.length, 1 + 3, 'the section, then 3 batches (200, 200, 50)')
  t.same(events.slice(1).map((e) => (e as unknown as BatchEvent).changes.length), [200, 200, 50])
  t.equal((await store.repo.listArticles({ offset: 0, limit: 1 })).total, n)
})

t.test('import limits: over-long lines are refused alone; lines past the per-request limit are not read', async (t) => {
  const { store } = await setup(t)
  await store.repo.putSection('news', { title: 'News', position: 1 })
  const limits = { lines: 3, lineBytes: 400, requestBytes: 64 << 20, batch: 200 }
  const text = lines(art('1'), art('2', { body: 'x'.repeat(1000) }), art('3'), art('4'), art('5'))
  const report = await importNdjson(store.repo, [Buffer.from(text)], limits)
  t.same(report.results.map((r) => [r.line, r.result]), [[1, 'created'], [2, 'error'], [3, 'created'], [4, 'error']])
  t.match(report.results[1], { error: { field: 'line', message: /longer than 400 bytes/ } })
  t.match(report.results[3], { error: { code: 'TESSERA_IMPORT_LIMIT' } })
  t.equal(report.stoppedAt, 4)
  t.equal(await store.repo.getArticle('4'), undefined)
  t.equal(await store.repo.getArticle('5'), undefined)
})

t.test('POST /import needs the token and NDJSON', async (t) => {
  const { store, app } = await setup(t)
  const before = await store.snapshot()
  t.equal((await app.inject({ method: 'POST', url: '/import', headers: { 'content-type': 'application/x-ndjson' }, payload: lines(art('1')) })).statusCode, 401)
  const json = await app.inject({ method: 'POST', url: '/import', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(art('1')) })
  t.equal(json.statusCode, 415)
  t.same(await store.snapshot(), before, 'nothing changed')
})
