// The console in Debian's Chromium (playwright-core with executablePath; no browser is downloaded), against
// the real stack with two edge nodes: an editor finds an article, previews, purges and sees both nodes
// acknowledge, and the page is fresh at the edge; ops change nav's TTL; roles and CSRF are enforced.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { launchChromium, screenshotsDir, signInPage } from '../support/browser.js'
import { get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 2 })
const purgeApi = `http://127.0.0.1:${stack.config.ports.purge}`
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const debug = { 'x-tessera-debug': stack.secrets.debugToken }
const shots = screenshotsDir(t)

const browser = await launchChromium(t)

const signIn = (token: string) => signInPage(browser, purgeApi, token)

await eventsSettled(stack.redisUrl)
const articles = (await (await fetch(`${contentApi}/articles?limit=100`, { headers: { authorization: `Bearer ${stack.secrets.editorToken}` } })).json()).items.filter((a: any) => a.publishedAt && Date.parse(a.publishedAt) < Date.now())
const article = articles[0]

t.test('sign-in page', async (t) => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 500 } })
  const page = await context.newPage()
  const res = await page.goto(`${purgeApi}/console`)
  t.equal(res?.status(), 200)
  await page.fill('#token', 'not-a-token')
  await page.click('#sign-in-button')
  t.match(await page.textContent('#sign-in-error'), 'neither the editor token nor the ops token', 'a wrong token is refused in plain words')
  await page.screenshot({ path: path.join(shots, 'sign-in.png') })
  const cookies = await context.cookies()
  t.notOk(cookies.some((c) => c.name === 'tessera_console'), 'no session for a wrong token')
  await context.close()
})

t.test('an editor finds an article, previews, hard-purges, sees both nodes acknowledge, and the edge is fresh', async (t) => {
  for (const edge of stack.edges) {
    await get(edge.url, `/articles/${article.slug}`)
    t.equal((await get(edge.url, `/articles/${article.slug}`, debug)).headers.get('x-tessera-cache'), 'hit', `${edge.name} has the page cached`)
  }
  const page = await signIn(stack.secrets.editorToken)
  t.match(await page.textContent('#role'), 'editor')
  t.equal(await page.locator('a[href="/console/ops"]').count(), 0, 'the editor sees no ops link')
  const cookie = (await page.context().cookies()).find((c) => c.name === 'tessera_console')
  t.ok(cookie?.httpOnly && cookie.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict')

  await page.fill('#q', article.title)
  await page.click('#search-button')
  const pick = page.locator(`input.pick[data-kind="article"][data-id="${article.id}"]`)
  await pick.waitFor()
  await pick.check()

  await page.click('#preview-button')
  await page.locator('#preview-urls li').first().waitFor()
  const previewed = await page.locator('#preview-urls li').allTextContents()
  t.ok(previewed.includes(`/articles/${article.slug}`), 'the preview lists the article page')
  t.ok(previewed.includes(`/fragments/article/${article.id}`), 'and its body fragment')

  await page.click('#purge-hard')
  await page.locator('#purge-nodes tbody tr').nth(1).waitFor()
  const rows = await page.locator('#purge-nodes tbody tr').allTextContents()
  t.equal(rows.length, 2, 'one result per edge node')
  for (const edge of stack.edges) {
    const line = rows.find((r) => r.startsWith(edge.url))
    t.match(line, 'acknowledged', `${edge.name} acknowledged`)
  }
  t.match(await page.textContent('#purge-result p'), 'every edge node acknowledged')

  const first = await get(stack.edges[0]!.url, `/articles/${article.slug}`, debug)
  t.equal(first.status, 200)
  t.equal(first.headers.get('x-tessera-cache'), 'miss', 'after the hard purge the page is fetched fresh at the edge')

  // The audit log shows the purge without a reload (the page polls it).
  await page.locator('#audit-rows tr', { hasText: `article:${article.id}` }).first().waitFor({ timeout: 10_000 })
  t.pass('the audit log shows the purge without a reload')
  await page.screenshot({ path: path.join(shots, 'editor.png'), fullPage: true })

  const forbidden = await page.goto(`${purgeApi}/console/ops`)
  t.equal(forbidden?.status(), 403, 'the editor cannot open the ops view')
  t.match(await page.textContent('#forbidden'), 'The ops view is for ops')
  await page.screenshot({ path: path.join(shots, 'forbidden.png') })

  const session = `tessera_console=${cookie!.value}`
  const csrf = await page.goto(`${purgeApi}/console`).then(() => page.getAttribute('meta[name="csrf-token"]', 'content'))
  const without = await fetch(`${purgeApi}/console/api/purges`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json' }, body: JSON.stringify({ articles: [article.id] }) })
  t.equal(without.status, 403, 'a purge without the CSRF token is refused')
  t.equal((await without.json()).error.code, 'TESSERA_CONSOLE_CSRF')
  const wrong = await fetch(`${purgeApi}/console/api/purges`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json', 'x-csrf-token': 'x'.repeat(43) }, body: JSON.stringify({ articles: [article.id] }) })
  t.equal(wrong.status, 403, 'and so is one with a wrong token')
  const withToken = await fetch(`${purgeApi}/console/api/preview`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/json', 'x-csrf-token': csrf! }, body: JSON.stringify({ articles: [article.id] }) })
  t.equal(withToken.status, 200, 'the same session with its CSRF token is served')
  const opsCall = await fetch(`${purgeApi}/console/api/policies/nav`, { method: 'PUT', headers: { cookie: session, 'content-type': 'application/json', 'x-csrf-token': csrf! }, body: JSON.stringify({ ttl: 1, grace: 1, keep: 1 }) })
  t.equal(opsCall.status, 403, "an editor's session cannot change a policy")

  await Promise.all([page.waitForURL(/\/console$/), page.click('#sign-out')])
  t.ok(await page.locator('#token').isVisible(), 'signing out shows the sign-in form')
  const after = await fetch(`${purgeApi}/console/api/purges`, { headers: { cookie: session } })
  t.equal(after.status, 401, 'the session is gone on the server after signing out')
  await page.context().close()
})

t.test("ops change nav's TTL inline and see the effective policy change; bad input is explained by the field", async (t) => {
  const page = await signIn(stack.secrets.opsToken)
  t.match(page.url(), /\/console\/ops$/)
  const nav = page.locator('tr[data-fragment="nav"]')
  const before = await nav.locator('.effective').textContent()
  await nav.locator('input[name="ttl"]').fill('-5')
  // The API's answer first (a failure then says what the console was told, not only that a message never showed).
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/console/api/policies/nav') && r.request().method() === 'PUT'),
    nav.locator('button.save').click(),
  ])
  t.equal(refused.status(), 400, `the API refuses a negative TTL: ${await refused.text()}`)
  await nav.locator('.field-error[data-field="ttl"]', { hasText: 'must be an integer number of seconds' }).waitFor()
  t.pass('an invalid TTL shows the API message next to the ttl field')
  t.equal(await nav.locator('.effective').textContent(), before, 'and nothing changed')

  await nav.locator('input[name="ttl"]').fill('42')
  await nav.locator('button.save').click()
  await nav.locator('.effective', { hasText: /^42 \// }).waitFor()
  t.match(await nav.locator('.override').textContent(), /^42 \//, 'the override is shown')
  const stored = await fetch(`${purgeApi}/policies/nav`, { headers: { authorization: `Bearer ${stack.secrets.opsToken}` } }).then((r) => r.json())
  t.equal(stored.effective.ttl, 42, 'the policy API agrees')

  // A few deliveries so the charts have figures, then a fresh load of the ops view.
  for (const edge of stack.edges) for (const url of ['/', '/fragments/nav', '/fragments/nav']) await get(edge.url, url)
  await page.reload()
  t.match(await nav.locator('.effective').textContent(), /^42 \//, 'the effective policy after a reload')
  t.equal(await page.locator('#edges tbody tr').count(), 2, 'both edge nodes listed')
  t.equal(await page.locator('#edges tbody td.ok').count(), 2, 'both healthy')
  t.equal(await page.locator('svg.chart').count(), 2, 'hit ratio and fetch time charts')
  await page.screenshot({ path: path.join(shots, 'ops.png'), fullPage: true })

  await nav.locator('button.clear').click()
  await nav.locator('.override', { hasText: 'none' }).waitFor()
  t.pass('clearing the override puts the default back')

  // The edge panel follows the nodes without a reload: stop one, watch it turn unhealthy, bring it back.
  await stack.edges[1].varnishd.stop()
  await page.locator('#edges tbody td.bad').first().waitFor({ timeout: 20_000 })
  t.equal(await page.locator('#edges tbody td.ok').count(), 1, 'the stopped node shows as unhealthy without a reload')
  await stack.restartEdge(stack.edges[1].name)
  await page.locator('#edges tbody td.ok').nth(1).waitFor({ timeout: 20_000 })
  t.pass('and healthy again once it is back')
  await page.context().close()
})

t.test('every screenshot was taken, as a PNG', async (t) => {
  for (const name of ['sign-in', 'editor', 'forbidden', 'ops']) {
    const png = readFileSync(path.join(shots, `${name}.png`))
    t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${name}.png`)
  }
})
