import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { article } from '../../fragments/article/fragment.js'
import { FRAGMENT_NAMES } from '../../platform/config.js'
import { policyFromWire, policyToWire } from '../../cache/policy.js'
import { decodeChange, decodeOverride, encodeChange, encodeOverride, parsePolicy } from '../../cache/policy-overrides.js'
import { nav } from '../../fragments/nav/fragment.js'
import { DEFAULT_POLICIES, isFragmentName } from '../../fragments/registry.js'
import { sections } from '../../fragments/sections/fragment.js'
import { sidebar } from '../../fragments/sidebar/fragment.js'
import { loadTtlFile } from '../../purge-service/ttl-file.js'

const fieldOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string; field?: string }).code === 'TESSERA_INVALID_INPUT' ? (err as { field: string }).field : `not InvalidInput: ${err}`
  }
  return undefined
}

t.test('every fragment default comes from its own definition', async (t) => {
  t.same(Object.keys(DEFAULT_POLICIES).sort(), [...FRAGMENT_NAMES].sort())
  t.equal(DEFAULT_POLICIES.nav, nav.policy)
  t.equal(DEFAULT_POLICIES.sidebar, sidebar.policy)
  t.equal(DEFAULT_POLICIES.article, article.policy)
  t.equal(DEFAULT_POLICIES.sections, sections.policy)
  t.ok(isFragmentName('nav'))
  t.notOk(isFragmentName('layout'))
  t.notOk(isFragmentName('__proto__'))
  t.notOk(isFragmentName('toString'))
})

t.test('the wire names grace and keep are stale-while-revalidate and stale-if-error in code, both ways', async (t) => {
  t.same(policyFromWire({ ttl: 60, grace: 30, keep: 3600 }), { ttl: 60, staleWhileRevalidate: 30, staleIfError: 3600 })
  t.same(policyToWire({ ttl: 60, staleWhileRevalidate: 30, staleIfError: 3600 }), { ttl: 60, grace: 30, keep: 3600 })
  t.same(Object.keys(policyToWire(nav.policy)), ['ttl', 'grace', 'keep'], 'exactly the wire fields, in their order')
})

t.test('a policy is exactly ttl, grace and keep, integers within bounds', async (t) => {
  t.same(parsePolicy({ ttl: 2, grace: 0, keep: 3600 }), { ttl: 2, staleWhileRevalidate: 0, staleIfError: 3600 })
  t.same(parsePolicy({ ttl: 604800, grace: 86400, keep: 2592000 }), { ttl: 604800, staleWhileRevalidate: 86400, staleIfError: 2592000 }, 'the bounds themselves are allowed')
  t.same(parsePolicy({ ttl: 0, grace: 0, keep: 0 }), { ttl: 0, staleWhileRevalidate: 0, staleIfError: 0 })
  t.equal(fieldOf(() => parsePolicy({ ttl: 1, staleWhileRevalidate: 1, staleIfError: 1 })), 'staleWhileRevalidate', 'the code\'s names are not the wire\'s')
  const cases: Array<[unknown, string]> = [
    [{ ttl: 604801, grace: 0, keep: 0 }, 'ttl'],
    [{ ttl: 1, grace: 86401, keep: 0 }, 'grace'],
    [{ ttl: 1, grace: 1, keep: 2592001 }, 'keep'],
    [{ ttl: -1, grace: 1, keep: 1 }, 'ttl'],
    [{ ttl: 1.5, grace: 1, keep: 1 }, 'ttl'],
    [{ ttl: '60', grace: 1, keep: 1 }, 'ttl'],
    [{ ttl: null, grace: 1, keep: 1 }, 'ttl'],
    [{ ttl: Number.NaN, grace: 1, keep: 1 }, 'ttl'],
    [{ ttl: 60, keep: 1 }, 'grace'],
    [{ ttl: 60, grace: 1 }, 'keep'],
    [{ ttl: 60, grace: 1, keep: 1, stale: 5 }, 'stale'],
    [[60, 1, 1], 'body'],
    [null, 'body'],
    ['ttl=60', 'body'],
  ]
  for (const [input, field] of cases) t.equal(fieldOf(() => parsePolicy(input)), field, JSON.stringify(input))
  t.equal(fieldOf(() => parsePolicy({ ttl: 'x' }, 'nav')), 'nav.ttl', 'a TTL file names the fragment too')
  t.equal(fieldOf(() => parsePolicy(42, 'nav')), 'nav')
})

t.test('stored overrides and change messages round-trip in wire names, and refuse what is not one', async (t) => {
  const stored = '{"ttl":2,"grace":0,"keep":3600,"updatedAt":"2026-01-01T00:00:00.000Z","by":"ops"}'
  const override = { ttl: 2, staleWhileRevalidate: 0, staleIfError: 3600, updatedAt: '2026-01-01T00:00:00.000Z', by: 'ops' }
  t.same(decodeOverride(stored), override, 'an override stored before the rename reads as it did')
  t.equal(encodeOverride(override), stored, 'and is stored byte for byte as before')
  t.equal(encodeChange({ fragment: 'nav', override }), `{"fragment":"nav","override":${stored}}`, 'the change message too')
  t.equal(decodeOverride(null), undefined)
  t.equal(fieldOf(() => decodeOverride('{')), 'override')
  t.equal(fieldOf(() => decodeOverride(JSON.stringify({ ttl: 2, grace: 0, keep: 3600 }))), 'override', 'no updatedAt/by')
  t.equal(fieldOf(() => decodeOverride(stored.replace('"ttl":2', '"ttl":-5'))), 'override.ttl')
  t.same(decodeChange(encodeChange({ fragment: 'nav', override })), { fragment: 'nav', override })
  t.same(decodeChange(encodeChange({ fragment: 'nav', override: null })), { fragment: 'nav', override: null })
})

t.test('a TTL file is JSON or YAML; a bad one is refused with a message naming the problem', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-ttl-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = (name: string, text: string) => {
    const p = path.join(dir, name)
    writeFileSync(p, text)
    return p
  }
  t.same(await loadTtlFile(file('ttl.yaml', 'nav: {ttl: 60, grace: 30, keep: 3600}\nsidebar:\n  ttl: 30\n  grace: 10\n  keep: 600\n')), {
    nav: { ttl: 60, staleWhileRevalidate: 30, staleIfError: 3600 },
    sidebar: { ttl: 30, staleWhileRevalidate: 10, staleIfError: 600 },
  })
  t.same(await loadTtlFile(file('ttl.json', '{"article": {"ttl": 900, "grace": 60, "keep": 86400}}')), { article: { ttl: 900, staleWhileRevalidate: 60, staleIfError: 86400 } })
  t.same(await loadTtlFile(file('empty-map.yaml', '{}')), {})

  const refused = async (name: string, text: string, message: RegExp) => {
    const p = file(name, text)
    await t.rejects(loadTtlFile(p), { code: 'TESSERA_INVALID_TTL_FILE', message }, name)
    await t.rejects(loadTtlFile(p), { message: new RegExp(p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')) }, `${name}: names the file`)
  }
  await refused('unknown.yaml', 'footer: {ttl: 60, grace: 30, keep: 3600}\n', /"footer" is not a fragment; fragments are nav, sidebar, article, sections/)
  await refused('too-long.yaml', 'nav: {ttl: 9999999, grace: 30, keep: 3600}\n', /nav\.ttl: must be an integer number of seconds from 0 to 604800/)
  await refused('missing.yaml', 'nav: {ttl: 60, grace: 30}\n', /nav\.keep: is required/)
  await refused('extra.json', '{"nav": {"ttl": 60, "grace": 30, "keep": 1, "swr": 3}}', /nav\.swr: unknown field/)
  await refused('string.yaml', 'nav: {ttl: "60", grace: 30, keep: 3600}\n', /nav\.ttl/)
  await refused('syntax.yaml', 'nav: {ttl: 60, grace: 30\n', /is not valid YAML/)
  await refused('syntax.json', '{"nav": ', /is not valid JSON/)
  await refused('list.yaml', '- nav\n', /must be a mapping/)
  await refused('empty.yaml', '', /must be a mapping/)
  await refused('duplicate.yaml', 'nav: {ttl: 1, grace: 1, keep: 1}\nnav: {ttl: 2, grace: 1, keep: 1}\n', /is not valid YAML/)
  await t.rejects(loadTtlFile(path.join(dir, 'absent.yaml')), { code: 'TESSERA_INVALID_TTL_FILE', message: /cannot be read/ })
})
