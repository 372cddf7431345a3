// TESSERA_PAGE_TIER_LATE_INCLUDES: every URL is checked at start, the rendered site VCL compiles with the edge's own
// files, and the .vtc tests' fixtures are what the renderer writes.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { loadConfig } from '../../platform/config.js'
import { InvalidConfig } from '../../platform/errors.js'
import { projectRoot } from '../../platform/paths.js'
import { renderLateIncludesVcl, renderSiteVcl } from '../../topology/site-vcl.js'

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof InvalidConfig) return err.problems
    throw err
  }
  return []
}

t.test('empty by default; space or comma separated, each URL once', async (t) => {
  t.same(loadConfig({}).edge.lateIncludes, [])
  t.same(loadConfig({ TESSERA_PAGE_TIER_LATE_INCLUDES: '' }).edge.lateIncludes, [])
  t.same(loadConfig({ TESSERA_PAGE_TIER_LATE_INCLUDES: '/fragments/nav' }).edge.lateIncludes, ['/fragments/nav'])
  t.same(loadConfig({ TESSERA_PAGE_TIER_LATE_INCLUDES: ' /fragments/nav, /fragments/sidebar /fragments/sections/nav,/fragments/nav ' }).edge.lateIncludes,
    ['/fragments/nav', '/fragments/sidebar', '/fragments/sections/nav'])
})

t.test('a bad value fails at start, naming the variable and the value', async (t) => {
  for (const bad of ['/articles/hello', 'fragments/nav', '/fragments/nav?x=1', '/fragments/"nav', '/fragments/', '/fragments/nav&x', 'http://x/fragments/nav']) {
    const problems = problemsOf({ TESSERA_PAGE_TIER_LATE_INCLUDES: bad })
    t.equal(problems.length, 1, `${bad}: ${problems.join('; ')}`)
    t.match(problems[0], /TESSERA_PAGE_TIER_LATE_INCLUDES: .* must be an include URL under \/fragments\//)
  }
  t.match(problemsOf({ TESSERA_PAGE_TIER_LATE_INCLUDES: '/fragments/article/hello-world' }), [/article body, which its page requires/])
  t.same(problemsOf({ TESSERA_PAGE_TIER_LATE_INCLUDES: '/fragments/article/front/latest' }), [], 'a list of articles is not a body')
  t.match(problemsOf({ TESSERA_PAGE_TIER_LATE_INCLUDES: '/fragments/nav', TESSERA_PAGE_TIER: 'off' }), [/TESSERA_PAGE_TIER_LATE_INCLUDES is set with TESSERA_PAGE_TIER=off/])
  const many = Array.from({ length: 13 }, (_, i) => `/fragments/sections/nav/section/s${i}`).join(' ')
  t.match(problemsOf({ TESSERA_PAGE_TIER_LATE_INCLUDES: many }), [/names 13 includes; a page names at most 12/])
  t.throws(() => renderLateIncludesVcl(['/fragments/"); }']), /must be an include URL/, 'the renderer checks again before writing VCL')
})

t.test('rendered: an exact comparison and a whole-word removal per URL, dots escaped', async (t) => {
  const vcl = renderLateIncludesVcl(['/fragments/nav', '/fragments/sections/a.b'])
  t.match(vcl, 'if (req.url == "/fragments/nav" || req.url == "/fragments/sections/a.b") {')
  t.match(vcl, '"(?<![^ ])(/fragments/nav|/fragments/sections/a\\.b)(?![^ ])"')
  t.notMatch(renderLateIncludesVcl([]), /req\.url|regsuball/, 'none: empty subs')
  const b = [{ host: '127.0.0.1', port: 1 }]
  t.throws(() => renderSiteVcl({ backends: { layout: b, nav: b, sidebar: b, article: b, sections: b }, purgeAcl: [], purgeSecret: 's'.repeat(20), debugToken: 'd'.repeat(20), lateIncludes: ['/fragments/nav'] }),
    /late-bound includes are a page tier setting/)
})

t.test('the .vtc fixtures are what the renderer writes', async (t) => {
  const fixture = (file: string) => readFileSync(path.join(projectRoot, 'varnish/tests', file), 'utf8').split('\n').slice(1).join('\n')
  t.equal(fixture('tessera-page-tier-late.vcl'), renderLateIncludesVcl([]))
  t.equal(fixture('page-tier-late/tessera-page-tier-late.vcl'), renderLateIncludesVcl(['/fragments/nav']))
})

t.test('the generated site VCL with late-bound includes compiles with the edge\'s own VCL (varnishd -C)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-late-vcl-'))
  chmodSync(dir, 0o755) // as root, varnishd's compiler runs as the varnish user
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const b = { host: '127.0.0.1', port: 1 }
  writeFileSync(
    path.join(dir, 'tessera-site.vcl'),
    renderSiteVcl({ backends: { layout: [b], nav: [b], sidebar: [b], article: [b], sections: [b] }, purgeAcl: ['127.0.0.1'], purgeSecret: 's'.repeat(20), debugToken: 'd'.repeat(20), pageTier: { host: '127.0.0.1', port: 2 }, lateIncludes: ['/fragments/nav', '/fragments/sidebar'] }),
  )
  const out = spawnSync('varnishd', ['-C', '-p', `vcl_path=${dir}:${path.join(projectRoot, 'varnish')}`, '-f', path.join(projectRoot, 'varnish/default.vcl')], { encoding: 'utf8' })
  t.equal(out.status, 0, `compiles: ${out.stderr.slice(0, 2000)}`)
})
