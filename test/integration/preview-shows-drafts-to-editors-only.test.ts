// Draft previews through the real edge: an editor's console token shows a draft article, a draft hub and a
// draft block in place at /preview/<path>; readers (no token, a forged, expired or signed-out one) get 403;
// nothing of a preview is cached, and readers still see none of the drafts.
import t from 'tap'
import { issuePreviewToken } from '../../platform/preview-token.js'
import { connectRedis } from '../../platform/redis.js'
import { callJson, publishedArticles } from '../support/api.js'
import { signInToConsole } from '../support/console.js'
import { counters, get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 1 })
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const consoleBase = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const [edge] = stack.edges
const objects = async () => (await counters(edge!, 'MAIN.n_object'))['MAIN.n_object']!

await eventsSettled(stack.redisUrl)
const [published] = await publishedArticles(contentApi, stack.secrets.editorToken)
const section = published!.section
const draftTitle = `Draft: the harbour at night ${Date.now()}`
async function create(path: string, body: unknown) {
  const answer = await callJson(contentApi, 'PUT', path, body, editor)
  if (answer.status !== 201) throw new Error(`PUT ${path}: ${answer.status} ${JSON.stringify(answer.json)}`)
}
await create('/articles/draft-1', { slug: 'draft-harbour', title: draftTitle, section, body: 'Not yet.' })
await create('/blocks/draft-promo', { slot: 'sidebar', kind: 'text', content: 'Draft promo for the section', position: 1, scope: `section:${section}`, draft: true })
await create('/hubs/autumn', { title: 'Autumn (draft)', draft: true, modules: [{ kind: 'html', content: '<p>Autumn is coming</p>' }, { kind: 'article-teaser', id: 'draft-1' }] })
await eventsSettled(stack.redisUrl)

const drafts = [
  { page: '/articles/draft-harbour', shows: draftTitle },
  { page: '/hubs/autumn', shows: 'Autumn is coming' },
  { page: `/sections/${section}`, shows: 'Draft promo for the section' },
]

t.test('readers see none of the drafts', async (t) => {
  for (const { page, shows } of drafts) t.notMatch((await get(edge!.url, page)).body, shows, `${page} does not show it`)
  t.equal((await get(edge!.url, '/articles/draft-harbour')).status, 404)
  t.equal((await get(edge!.url, '/hubs/autumn')).status, 404)
})

t.test('an editor\'s preview token shows each draft in place, and nothing of it is cached', async (t) => {
  const session = await signInToConsole(consoleBase, stack.secrets.editorToken)
  const issued = await session.call<{ token: string; expiresAt: string }>('POST', '/console/api/preview-token', {})
  t.equal(issued.status, 200)
  t.ok(Date.parse(issued.json.expiresAt) > Date.now(), 'short-lived: it says until when')
  const before = await objects()
  for (const { page, shows } of drafts) {
    for (let i = 0; i < 2; i++) {
      const res = await get(edge!.url, `/preview${page}?token=${issued.json.token}`)
      t.equal(res.status, 200, `${page} preview`)
      t.match(res.body, shows, `${page} preview shows the draft`)
      t.match(res.body, 'Preview: drafts and scheduled content shown')
      t.equal(res.headers.get('cache-control'), 'private, no-store')
      t.notMatch(res.body, '<esi:include', 'assembled by the layout, not by the edge')
    }
  }
  t.equal(await objects(), before, 'no object cached by six previews')
  for (const { page, shows } of drafts) t.notMatch((await get(edge!.url, page)).body, shows, `readers still do not see ${page}'s draft`)

  const refusals: Array<[string, string]> = [
    ['no token', ''],
    ['a forged token', `?token=${issued.json.token.slice(0, -2)}xx`],
    ['a token with its expiry moved', `?token=${String(Date.parse(issued.json.expiresAt) + 1000)}${issued.json.token.slice(13)}`],
    ['the editor bearer token', `?token=${stack.secrets.editorToken}`],
  ]
  const redis = connectRedis(stack.redisUrl, 'test-preview')
  t.teardown(() => redis.disconnect())
  const expired = await issuePreviewToken(redis, stack.secrets.previewSecret, 'an-old-session', 60, new Date(Date.now() - 16 * 60_000))
  refusals.push(['an expired token', `?token=${expired.token}`])
  const beforeRefusals = await objects()
  for (const [what, query] of refusals) {
    const res = await get(edge!.url, `/preview/articles/draft-harbour${query}`)
    t.equal(res.status, 403, `${what}: 403`)
    t.notMatch(res.body, draftTitle, `${what}: the draft is not shown`)
  }

  // signing out ends the session's previews
  const signOut = await fetch(`${consoleBase}/console/sign-out`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: session.csrf }).toString(),
  })
  t.equal(signOut.status, 303)
  const after = await get(edge!.url, `/preview/articles/draft-harbour?token=${issued.json.token}`)
  t.equal(after.status, 403, 'a signed-out session\'s token: 403')
  t.match(after.body, 'session that asked for this preview has ended')
  t.equal(await objects(), beforeRefusals, 'no refusal cached either')
})

t.test('a preview token needs a signed-in session and the console\'s CSRF token', async (t) => {
  const anonymous = await fetch(`${consoleBase}/console/api/preview-token`, { method: 'POST' })
  t.equal(anonymous.status, 401)
  const session = await signInToConsole(consoleBase, stack.secrets.editorToken)
  const noCsrf = await fetch(`${consoleBase}/console/api/preview-token`, { method: 'POST', headers: { cookie: session.cookie } })
  t.equal(noCsrf.status, 403)
})
