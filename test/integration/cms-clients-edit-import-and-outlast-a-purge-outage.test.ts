// The content API as a real CMS uses it, through the real stack (two edge nodes): two editors racing with
// If-Match, a bulk import of 10,000 articles with bad lines (npm run import's client), and the change stream
// outliving a purge service outage longer than the backlog cap.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import t from 'tap'
import { generatedArticleLine } from '../../content/generated.js'
import type { Article } from '../../content/model.js'
import { projectRoot } from '../../platform/paths.js'
import { callJson, publishedArticles } from '../support/api.js'
import { get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled, until } from '../support/wait.js'

const CAP = 10
const stack = await startTestStack(t, { edges: 2, env: { TESSERA_EVENTS_BACKLOG_CAP: String(CAP), TESSERA_EVENTS_TRIM_MS: '200' } })
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const redis = new Redis(stack.redisUrl)
t.teardown(() => redis.disconnect())
const settled = () => eventsSettled(stack.redisUrl, 120_000)

async function patch(id: string, body: unknown, etag: string) {
  const res = await fetch(`${contentApi}/articles/${id}`, { method: 'PATCH', headers: { ...editor, 'content-type': 'application/merge-patch+json', 'if-match': etag }, body: JSON.stringify(body) })
  return { status: res.status, etag: res.headers.get('etag'), json: (await res.json()) as Article & { error?: { code: string } } }
}
async function read(id: string) {
  const res = await fetch(`${contentApi}/articles/${id}`, { headers: editor })
  return { etag: res.headers.get('etag')!, json: (await res.json()) as Article }
}
const pageShows = (slug: string, text: string) =>
  until(`/articles/${slug} to show "${text}" on both edge nodes`, async () => {
    const pages = await Promise.all(stack.edges.map((e) => get(e.url, `/articles/${slug}`)))
    return pages.every((p) => p.status === 200 && p.body.includes(text))
  }, 60_000)

const articles = await publishedArticles(contentApi, stack.secrets.editorToken)

t.test('two editors save the same version at once: one gets 412, re-applies on the new version, nothing is lost', async (t) => {
  const subject = articles[5]!
  const [a, b] = await Promise.all([read(subject.id), read(subject.id)])
  t.equal(a.etag, b.etag)
  const answers = await Promise.all([patch(subject.id, { title: 'Edited by editor A' }, a.etag), patch(subject.id, { summary: 'Summary by editor B.' }, b.etag)])
  t.same(answers.map((x) => x.status).sort(), [200, 412], 'exactly one write went through')
  const winner = answers.find((x) => x.status === 200)!
  const loser = answers.find((x) => x.status === 412)!
  t.equal(loser.json.error?.code, 'TESSERA_PRECONDITION_FAILED')
  t.equal(loser.etag, winner.etag, 'the 412 carries the current ETag')
  const loserBody = loser === answers[0] ? { title: 'Edited by editor A' } : { summary: 'Summary by editor B.' }
  const retry = await patch(subject.id, loserBody, loser.etag!)
  t.equal(retry.status, 200, 'the loser re-applies on the current version')
  const final = (await read(subject.id)).json
  t.equal(final.title, 'Edited by editor A')
  t.equal(final.summary, 'Summary by editor B.', 'both edits are in the record')
  await settled()
  await pageShows(final.slug, 'Edited by editor A')
})

t.test('the purge service down while more than the backlog cap of changes are made: every purge reaches both nodes after', async (t) => {
  await settled()
  const subjects = articles.filter((_, i) => i !== 5).slice(0, 3 * CAP)
  for (const a of subjects) for (const edge of stack.edges) t.equal((await get(edge.url, `/articles/${a.slug}`)).status, 200)
  const lengthBefore = await redis.xlen('tessera:events')
  await stack.killService('purge')
  for (const [i, a] of subjects.entries()) {
    const current = await read(a.id)
    const res = await patch(a.id, { title: `Edited during the outage ${i}` }, current.etag)
    t.equal(res.status, 200, `write ${i} succeeds with the purge service down`)
  }
  t.equal(await redis.xlen('tessera:events'), lengthBefore + subjects.length, `all ${subjects.length} changes are in the stream: no writer trims it`)
  await stack.startServiceAgain('purge')
  await settled()
  for (const [i, a] of subjects.entries()) await pageShows(a.slug, `Edited during the outage ${i}`)
  t.pass(`every one of the ${subjects.length} changes (cap ${CAP}) was purged on both nodes`)
  const events = await until('the purge service to trim what it acknowledged', async () => {
    const edges = (await callJson<{ events: { length: number; backlog: number; overCap: boolean; cap: number } }>(purgeApi, 'GET', '/edges', undefined, editor)).json
    return edges.events.length <= CAP && !edges.events.overCap ? edges.events : undefined
  }, 30_000)
  t.match(events, { backlog: 0, cap: CAP, overCap: false })
})

t.test('npm run import of 10,000 articles with bad lines: every good line at the edge, bad lines reported, nothing half-written', async (t) => {
  await settled()
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-import-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const n = 10_000
  const lines = Array.from({ length: n }, (_, i) => generatedArticleLine(i))
  const first = JSON.parse(lines[0]!)
  const bad = [
    '{"kind":"article","id":"bad-json",',
    JSON.stringify({ ...first, id: 'bad-no-title', slug: 'bad-no-title', title: undefined }),
    JSON.stringify({ ...first, id: 'bad-section', slug: 'bad-section', section: 'nowhere' }),
    JSON.stringify({ ...first, id: 'bad-slug-taken' }), // the slug of the first generated article
  ]
  // bad lines among the good ones, in both requests the client sends (5,000 lines each)
  const at = [2_000, 4_999, 7_000, 9_500]
  const file = [...lines]
  at.forEach((pos, i) => file.splice(pos, 0, bad[i]!))
  const badLineNumbers = file.flatMap((l, i) => (bad.includes(l) ? [i + 1] : []))
  writeFileSync(path.join(dir, 'archive.ndjson'), file.join('\n') + '\n')
  const homeBefore = await get(stack.edges[0].url, '/')
  t.equal(homeBefore.status, 200)

  const since = Date.now()
  const cli = spawn(process.execPath, [path.join(projectRoot, 'dist/scripts/import.js'), path.join(dir, 'archive.ndjson'), '--url', contentApi], {
    env: { ...process.env, TESSERA_EDITOR_TOKEN: stack.secrets.editorToken, TESSERA_STATE_DIR: stack.config.stateDir },
  })
  let out = ''
  cli.stdout.on('data', (d) => (out += d))
  cli.stderr.on('data', (d) => (out += d))
  const code = await new Promise((r) => cli.on('exit', r))
  t.equal(code, 1, 'exit code 1: some lines were refused')
  t.match(out, `${n + bad.length} lines, ${n} created, 0 updated, ${bad.length} refused`)
  const reported = [...out.matchAll(/^line (\d+)/gm)].map((m) => Number(m[1]))
  t.same(reported, badLineNumbers, 'each bad line is reported with its line number in the file')
  t.match(out, /line \d+: TESSERA_INVALID_INPUT line: is not valid JSON/)
  t.match(out, /article bad-no-title: TESSERA_INVALID_INPUT title: is required/)
  t.match(out, /article bad-section: TESSERA_INVALID_INPUT section: /)
  t.match(out, /article bad-slug-taken: TESSERA_CONFLICT /)

  for (const id of ['bad-json', 'bad-no-title', 'bad-section', 'bad-slug-taken']) {
    t.equal((await fetch(`${contentApi}/articles/${id}`, { headers: editor })).status, 404, `${id} was not written`)
    t.equal(await redis.zscore('tessera:articles:published', id), null, `${id} is in no index`)
  }
  const total = (await callJson<{ total: number }>(contentApi, 'GET', '/articles?limit=1', undefined, editor)).json.total
  t.equal(total, articles.length + n, 'the store holds the demo articles and every good line')
  t.equal(await redis.hlen('tessera:articles:slug'), total, 'one slug per article: no line half-written')
  t.equal(await redis.hlen('tessera:articles:headline'), total)

  await settled()
  for (const i of [0, 1, 4_999, 9_999]) {
    const line = JSON.parse(lines[i]!)
    await pageShows(line.slug, line.title.replaceAll(',', ','))
  }
  await until('the home page to list the newest imported article', async () => (await get(stack.edges[1].url, '/')).body.includes(first.title), 60_000)
  const purges = (await callJson<{ purges: Array<{ source: string; at: string; keys: string[] }> }>(purgeApi, 'GET', '/purges?limit=1000', undefined, editor)).json.purges
  const fromImport = purges.filter((p) => p.source === 'event' && Date.parse(p.at) >= since)
  t.ok(fromImport.length > 0 && fromImport.length <= Math.ceil(n / 200) + 5, `${fromImport.length} automatic purges for ${n} articles: once per batch, not once per record`)
  t.ok(fromImport.some((p) => p.keys.includes(`article:${first.id}`)), 'a batch purge carries its articles’ keys')
})
