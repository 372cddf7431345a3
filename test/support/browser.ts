// The console's end-to-end tests in Debian's Chromium (playwright-core with executablePath; no browser is
// downloaded): where their screenshots go, the browser, and signing in through the sign-in form.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { projectRoot } from '../../platform/paths.js'

const CHROMIUM = '/usr/bin/chromium'

interface Teardown {
  teardown(fn: () => unknown): void
}

/**
 * A test run leaves the checkout clean: screenshots go to a temporary dir (removed afterwards), unless
 * `npm run screenshots` asks for the committed ones (TESSERA_SCREENSHOTS_DIR=docs/screenshots).
 */
export function screenshotsDir(t: Teardown): string {
  const asked = process.env.TESSERA_SCREENSHOTS_DIR
  const dir = asked ? path.resolve(projectRoot, asked) : mkdtempSync(path.join(os.tmpdir(), 'tessera-screenshots-'))
  mkdirSync(dir, { recursive: true })
  if (!asked) t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Headless Chromium, closed when the test ends. (playwright-core gives it a fresh --user-data-dir of its own.) */
export async function launchChromium(t: Teardown): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Debian's Chromium is not installed (${CHROMIUM} is missing): run \`node scripts/bootstrap.mjs\` as root, or \`apt-get install -y chromium\`, then run this test again`)
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(() => browser.close())
  return browser
}

/** A new browser context signed in to the console at `base` with `token`, on the page it lands on. */
export async function signInPage(browser: Browser, base: string, token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } })
  const page = await context.newPage()
  await page.goto(`${base}/console`)
  await page.fill('#token', token)
  await Promise.all([page.waitForURL(/\/console(\/ops)?$/), page.click('#sign-in-button')])
  return page
}
