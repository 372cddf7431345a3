// A snippet block is validated exactly as its slot renders it: a helper we did not register is a 400 at
// write time, not a render failure of the slot on every request afterwards.
import t from 'tap'
import { buildContentApi } from '../../content/api/app.js'
import { sections } from '../../fragments/sections/fragment.js'
import { openStore } from './store.js'

const TOKEN = 'editor-token-for-tests-0123456789'
const auth = { authorization: `Bearer ${TOKEN}` }

t.test('a snippet calling an unknown helper gets a 400 naming content, and nothing is stored', async (t) => {
  const store = await openStore(t)
  const app = buildContentApi({ repo: store.repo, editorToken: TOKEN, logLevel: 'silent' })
  t.teardown(() => app.close())
  await app.ready()
  const before = await store.snapshot()
  for (const content of ['{{exec "x"}}', '{{{exec "rm -rf /"}}}', '{{date (exec "x")}}']) {
    const res = await app.inject({ method: 'PUT', url: '/blocks/bad-snippet', headers: auth, payload: { slot: 'main', kind: 'snippet', content, position: 1 } })
    t.equal(res.statusCode, 400, content)
    t.equal(res.json().error.field, 'content', `${content}: names the field`)
    t.match(res.json().error.message, /Handlebars/, `${content}: says why`)
  }
  t.same(await store.snapshot(), before, 'nothing changed')
  t.equal((await app.inject({ method: 'GET', url: '/blocks/bad-snippet', headers: auth })).statusCode, 404)

  // Our own helpers and plain lookups are fine, and the slot then renders the snippet.
  const good = await app.inject({ method: 'PUT', url: '/blocks/good-snippet', headers: auth, payload: { slot: 'main', kind: 'snippet', content: 'Slot {{slot}} on {{date now}}', position: 1 } })
  t.equal(good.statusCode, 201)
  const rendered = await sections.render({ content: store.repo, params: { slot: 'main' }, now: new Date('2026-05-01T10:00:00Z') })
  t.match(rendered.html, 'Slot main on 1 May 2026')
})
