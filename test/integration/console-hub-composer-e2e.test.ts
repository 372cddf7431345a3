// The hub composer and block scope in Debian's Chromium, against the real stack: an editor composes a hub
// (modules added, articles picked by search, reordered, removed, scheduled), sees the API's refusal beside the
// field, saves a draft readers cannot see, previews it through the edge, publishes it, aims a block at a
// section, and deletes the hub; an ops session may not write content.
import path from 'node:path'
import type { Page } from 'playwright-core'
import t from 'tap'
import type { Article, Block } from '../../content/model.js'
import { callJson, publishedArticles } from '../support/api.js'
import { signInToConsole } from '../support/console.js'
import { launchChromium, screenshotsDir, signInPage } from '../support/browser.js'
import { get } from '../support/edge.js'
import { startTestStack } from '../support/stack.js'
import { eventsSettled, until } from '../support/wait.js'

const stack = await startTestStack(t, { edges: 1 })
const consoleBase = `http://127.0.0.1:${stack.config.ports.purge}`
const contentApi = `http://127.0.0.1:${stack.config.ports.content}`
const editor = { authorization: `Bearer ${stack.secrets.editorToken}` }
const [edge] = stack.edges
const shots = screenshotsDir(t)

const browser = await launchChromium(t)

const signIn = (token: string) => signInPage(browser, consoleBase, token)

await eventsSettled(stack.redisUrl)
const articles = await publishedArticles(contentApi, stack.secrets.editorToken)
const [first, second] = articles as [Article, Article]
const HUB = '/hubs/spring-guide'

/** Searches with the module's picker and picks the article. */
async function pick(page: Page, module: number, article: Article) {
  const item = page.locator(`li.module[data-index="${module}"]`)
  await item.locator('input.pick-query').fill(article.title)
  await item.locator('button.pick-search').click()
  await item.locator(`.pick-results li[data-id="${article.id}"] button.pick-article`).click()
}

t.test('an editor composes, previews, publishes and deletes a hub page', async (t) => {
  const page = await signIn(stack.secrets.editorToken)
  await page.click('a[href="/console/hubs"]')
  await page.fill('#new-hub-slug', 'spring-guide')
  await Promise.all([page.waitForURL(/\/console\/hubs\/spring-guide$/), page.click('#new-hub-button')])
  await until('the composer to load', async () => /new/.test((await page.textContent('#hub-state')) ?? ''))

  await page.fill('#hub-title', 'The spring guide')
  await page.selectOption('#new-module-kind', 'html')
  await page.click('#add-module')
  await page.fill('li.module[data-index="0"] textarea.module-html', '<p class="intro">Everything for spring</p>')
  await page.selectOption('#new-module-kind', 'article-list')
  await page.click('#add-module')
  await page.selectOption('li.module[data-index="1"] select.module-source', 'picks')
  await pick(page, 1, first)
  await pick(page, 1, second)
  await page.fill('li.module[data-index="1"] input.module-limit', '20')
  await page.selectOption('#new-module-kind', 'article-teaser')
  await page.click('#add-module')
  await pick(page, 2, second)
  await page.selectOption('#new-module-kind', 'blocks')
  await page.click('#add-module')

  // the API's refusal, beside the field it names
  await page.click('#publish')
  const limitError = page.locator('.field-error[data-field="modules[1].limit"]')
  await limitError.waitFor({ state: 'visible' })
  t.match(await limitError.textContent(), 'must be an integer from 1 to 12')
  await page.screenshot({ path: path.join(shots, 'hub-composer-error.png'), fullPage: true })
  t.equal((await callJson(contentApi, 'GET', '/hubs/spring-guide', undefined, editor)).status, 404, 'nothing saved')

  await page.fill('li.module[data-index="1"] input.module-limit', '2')
  await page.click('li.module[data-index="0"] button.module-down') // the list first, then the intro
  await page.click('li.module[data-index="3"] button.module-remove') // no blocks module after all
  await page.fill('#hub-ends', '2099-01-01T00:00:00Z')
  await page.click('#save-draft')
  await until('the draft to be saved', async () => /draft/.test((await page.textContent('#hub-status')) ?? ''))
  const saved = await callJson<{ draft: boolean; endsAt: string; modules: Array<{ kind: string; ids?: string[] }> }>(contentApi, 'GET', '/hubs/spring-guide', undefined, editor)
  t.same(saved.json.modules.map((m) => m.kind), ['article-list', 'html', 'article-teaser'], 'added, reordered, removed')
  t.same(saved.json.modules[0]!.ids, [first.id, second.id], 'picked by search, in order')
  t.equal(saved.json.draft, true)
  t.equal(saved.json.endsAt, '2099-01-01T00:00:00.000Z', 'scheduled')
  await eventsSettled(stack.redisUrl)
  t.equal((await get(edge!.url, HUB)).status, 404, 'readers do not see a draft')

  await page.click('#preview-hub')
  const link = page.locator('#preview-link')
  await link.waitFor({ state: 'visible' })
  const href = (await link.getAttribute('href'))!
  t.match(href, `${edge!.url}/preview/hubs/spring-guide?token=`, 'a preview through the edge')
  const preview = await page.context().newPage()
  const res = await preview.goto(href)
  t.equal(res?.status(), 200)
  t.match(await preview.textContent('body'), 'Everything for spring', 'the draft, in place')
  t.equal(await preview.locator(`li.teaser[data-article-id="${second.id}"]`).count(), 2, 'in the picks and as the teaser')
  await preview.screenshot({ path: path.join(shots, 'hub-preview.png'), fullPage: true })
  await preview.close()

  await page.click('#publish')
  await until('the hub to be published', async () => /Published/.test((await page.textContent('#hub-status')) ?? ''))
  await eventsSettled(stack.redisUrl)
  const live = await get(edge!.url, HUB)
  t.equal(live.status, 200, 'published: readers see it')
  t.ok(live.body.indexOf(`data-article-id="${first.id}"`) < live.body.indexOf('Everything for spring'), 'in the order composed')
  await page.screenshot({ path: path.join(shots, 'hub-composer.png'), fullPage: true })

  await Promise.all([page.waitForURL(/\/console\/hubs$/), page.click('#delete-hub')])
  t.equal((await callJson(contentApi, 'GET', '/hubs/spring-guide', undefined, editor)).status, 404, 'deleted')
  await eventsSettled(stack.redisUrl)
  t.equal((await get(edge!.url, HUB)).status, 404)
  await page.context().close()
})

t.test('an editor aims a block at a section from the console; a bad target is explained beside it', async (t) => {
  const { json } = await callJson<{ items: Block[] }>(contentApi, 'GET', '/blocks', undefined, editor)
  const block = json.items.find((b) => b.slot === 'sidebar')!
  const page = await signIn(stack.secrets.editorToken)
  await page.goto(`${consoleBase}/console/hubs`)
  const form = page.locator(`form.scope-form[data-block="${block.id}"]`)
  await form.locator('select[name="kind"]').selectOption('section')
  await form.locator('input[name="target"]').fill('Not A Slug')
  await form.locator('button').click()
  await form.locator('.field-error[data-field="scope"]').waitFor({ state: 'visible' })
  t.match(await form.locator('.field-error').textContent(), 'must be site, section:<slug>')
  await form.locator('input[name="target"]').fill(first.section)
  await form.locator('button').click()
  await until('the scope to be saved', async () => /saved/.test((await form.locator('.status').textContent()) ?? ''))
  t.equal((await callJson<Block>(contentApi, 'GET', `/blocks/${block.id}`, undefined, editor)).json.scope, `section:${first.section}`)
  await page.screenshot({ path: path.join(shots, 'hubs-and-blocks.png'), fullPage: true })
  await page.context().close()
})

t.test('an ops session may not write content; no session, no CSRF token: refused', async (t) => {
  const ops = await signInToConsole(consoleBase, stack.secrets.opsToken)
  const refused = await ops.call<{ error: { code: string } }>('PUT', '/console/api/hubs/ops-hub', { title: 'Ops', modules: [] })
  t.same([refused.status, refused.json.error.code], [403, 'TESSERA_FORBIDDEN'])
  t.equal((await fetch(`${consoleBase}/console/api/hubs/x`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 401)
  const session = await signInToConsole(consoleBase, stack.secrets.editorToken)
  t.equal((await fetch(`${consoleBase}/console/api/hubs/x`, { method: 'PUT', headers: { cookie: session.cookie, 'content-type': 'application/json' }, body: '{}' })).status, 403)
})
