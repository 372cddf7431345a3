// TESSERA_ROUTES and TESSERA_LEGACY_ORIGIN: every value is checked before it reaches VCL, the rendered VCL compiles
// with the edge's own files, and the .vtc tests' fixture is what the renderer writes.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { projectRoot } from '../../platform/paths.js'
import { InvalidRoutes, loadRoutes, parseRoutes } from '../../topology/routes.js'
import { passCookieRegex, renderRoutesVcl } from '../../topology/routes-vcl.js'
import { renderSiteVcl } from '../../topology/site-vcl.js'

const problemsOf = (file: unknown, origin: string | undefined): string[] => {
  try {
    parseRoutes(file, origin === 'none' ? undefined : (origin ?? 'http://127.0.0.1:9000'))
  } catch (err) {
    if (err instanceof InvalidRoutes) return err.problems
    throw err
  }
  return []
}

t.test('without a routes file or a legacy origin nothing changes: no routes, an empty routing sub', async (t) => {
  t.equal(loadRoutes(undefined, undefined), undefined)
  const vcl = renderRoutesVcl(undefined)
  t.match(vcl, /sub tessera_routes_recv \{\n\}/)
  t.notMatch(vcl, /backend /)
})

t.test('routes are kept in the file order; prefixes become escaped anchored regexes; the legacy is the default route', async (t) => {
  const routes = parseRoutes(
    {
      legacy: { ttl: 60, passCookies: ['PHPSESSID'], firstByteTimeout: '20s', probe: { url: '/health', interval: '2s' } },
      routes: [
        { prefix: '/a.b+/', to: 'tessera' },
        { name: 'video', regex: '^/video/[0-9]+$', to: 'legacy', includes: ['/fragments/nav'] },
        { name: 'user', prefix: '/user/', to: '127.0.0.1:4001', cache: false, probe: false, firstByteTimeout: 3 },
      ],
    },
    'http://legacy.internal:8000',
  )
  t.same(routes.routes.map((r) => [r.name, r.regex, r.to]), [
    ['route-1', '^/a\\.b\\+/', 'tessera'],
    ['video', '^/video/[0-9]+$', 'legacy'],
    ['user', '^/user/', 'app'],
  ])
  t.equal(routes.routes[1].backend?.vclName, 'tessera_legacy', 'a legacy route without its own probe or timeouts shares the legacy backend')
  t.equal(routes.routes[1].policy?.ttl, 60, 'the legacy section is the legacy routes\' default')
  t.same(routes.routes[1].policy?.passCookies, ['PHPSESSID'])
  t.equal(routes.routes[2].backend?.firstByteTimeout, '3s')
  t.equal(routes.routes[2].backend?.probe, undefined)
  t.same(routes.fallback?.backend, { vclName: 'tessera_legacy', host: 'legacy.internal', port: 8000, probe: { url: '/health', interval: '2s', timeout: '4s', window: 5, threshold: 3 }, connectTimeout: '1s', firstByteTimeout: '20s', betweenBytesTimeout: '5s' })
  t.same(routes.backends.map((b) => b.vclName).sort(), ['tessera_legacy', 'tessera_route_user'])
  const vcl = renderRoutesVcl(routes)
  t.match(vcl, /backend tessera_legacy \{\n    \.host = "legacy\.internal";\n    \.port = "8000";/)
  t.match(vcl, /\.first_byte_timeout = 20s;/)
  t.match(vcl, /var\.set\("tessera_route", "name=video kind=legacy cache=1 ttl=60 swr=600 sie=86400 includes=\/fragments\/nav"\);/)
  t.ok(vcl.indexOf('"^/a\\.b\\+/"') < vcl.indexOf('"^/video/[0-9]+$"'), 'first match wins: the order of the file')
  t.equal(passCookieRegex(['PHPSESSID', 'wp_logged_in_*', 'a.b']), '(^|;\\s*)(PHPSESSID|wp_logged_in_[^=;]*|a\\.b)=')
  t.ok(new RegExp(passCookieRegex(['wp_logged_in_*'])).test('x=1; wp_logged_in_abc=2'))
  t.notOk(new RegExp(passCookieRegex(['PHPSESSID'])).test('XPHPSESSID=1'))
})

t.test('bad values are refused with the field, before anything reaches VCL', async (t) => {
  const cases: Array<[string, unknown, string | undefined, RegExp]> = [
    ['a quote in a regex', [{ regex: '^/a"; } sub vcl_recv { "', to: 'legacy' }], undefined, /routes\[0\]\.regex: .*double quote/],
    ['a newline in a regex', [{ regex: '^/a\n', to: 'legacy' }], undefined, /routes\[0\]\.regex/],
    ['a regex that does not compile', [{ regex: '^/(a', to: 'legacy' }], undefined, /routes\[0\]\.regex: .*not a valid regex/],
    ['an unanchored regex', [{ regex: '/video', to: 'legacy' }], undefined, /anchored/],
    ['inline flags', [{ regex: '^(?i)/video', to: 'legacy' }], undefined, /inline flags/],
    ['a prefix with a quote', [{ prefix: '/a"b', to: 'legacy' }], undefined, /routes\[0\]\.prefix/],
    ['a prefix with a space', [{ prefix: '/a b', to: 'legacy' }], undefined, /routes\[0\]\.prefix/],
    ['both prefix and regex', [{ prefix: '/a', regex: '^/a', to: 'legacy' }], undefined, /exactly one of prefix or regex/],
    ['an unknown target', [{ prefix: '/a', to: 'elsewhere' }], undefined, /routes\[0\]\.to/],
    ['a host with a quote', [{ prefix: '/a', to: 'a"b:80' }], undefined, /routes\[0\]\.to/],
    ['a port out of range', [{ prefix: '/a', to: '127.0.0.1:70000' }], undefined, /routes\[0\]\.to/],
    ['legacy with no legacy origin', [{ prefix: '/a', to: 'legacy' }], 'none', /TESSERA_LEGACY_ORIGIN/],
    ['an unknown field', [{ prefix: '/a', to: 'legacy', tll: 5 }], undefined, /routes\[0\]\.tll: unknown field/],
    ['a policy on a tessera route', [{ prefix: '/a', to: 'tessera', ttl: 5 }], undefined, /do not apply to a tessera route/],
    ['a negative ttl', [{ prefix: '/a', to: 'legacy', ttl: -1 }], undefined, /routes\[0\]\.ttl/],
    ['a bad duration', [{ prefix: '/a', to: 'legacy', firstByteTimeout: '15 seconds' }], undefined, /routes\[0\]\.firstByteTimeout/],
    ['a bad probe url', [{ prefix: '/a', to: 'legacy', probe: { url: 'health"' } }], undefined, /routes\[0\]\.probe\.url/],
    ['a bad cookie name', [{ prefix: '/a', to: 'legacy', passCookies: ['PHP SESS'] }], undefined, /routes\[0\]\.passCookies\[0\]/],
    ['an include outside /fragments/', [{ prefix: '/a', to: 'legacy', includes: ['/video/1'] }], undefined, /routes\[0\]\.includes\[0\]/],
    ['too many includes', [{ prefix: '/a', to: 'legacy', includes: Array.from({ length: 13 }, (_, i) => `/fragments/f${i}`) }], undefined, /at most 12/],
    ['a duplicate name', [{ name: 'a', prefix: '/a', to: 'legacy' }, { name: 'a', prefix: '/b', to: 'legacy' }], undefined, /used twice/],
    ['a bad name', [{ name: 'A"', prefix: '/a', to: 'legacy' }], undefined, /routes\[0\]\.name/],
    ['a legacy origin with a path', [], 'http://127.0.0.1:9000/cms', /TESSERA_LEGACY_ORIGIN/],
    ['a legacy origin over https', [], 'https://127.0.0.1:9000', /TESSERA_LEGACY_ORIGIN/],
    ['not a list', { routes: 'x' }, undefined, /routes: must be a list/],
  ]
  for (const [what, file, origin, expected] of cases) {
    const problems = problemsOf(file, origin)
    t.ok(problems.some((p) => expected.test(p)), `${what}: ${JSON.stringify(problems)}`)
  }
})

t.test('a bad routes file names the file and every problem', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-routes-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'routes.yaml')
  writeFileSync(file, 'routes:\n  - { prefix: /a, to: legacy, ttl: x }\n  - { regex: "^/(b", to: tessera }\n')
  t.throws(() => loadRoutes(file, 'http://127.0.0.1:9000'), { code: 'TESSERA_INVALID_ROUTES', message: /routes\.yaml: 2 problem/ })
  t.throws(() => loadRoutes(path.join(dir, 'missing.yaml'), undefined), { code: 'TESSERA_INVALID_ROUTES', message: /cannot read/ })
  writeFileSync(file, 'routes: [ {')
  t.throws(() => loadRoutes(file, undefined), { code: 'TESSERA_INVALID_ROUTES', message: /not YAML/ })
})

t.test('the .vtc fixture is what the renderer writes for varnish/tests/legacy/routes.yaml', async (t) => {
  const routes = loadRoutes(path.join(projectRoot, 'varnish/tests/legacy/routes.yaml'), 'http://127.0.0.1:9')
  const fixture = readFileSync(path.join(projectRoot, 'varnish/tests/legacy/tessera-routes.vcl'), 'utf8')
  t.equal(fixture.split('\n').filter((l, i) => !(i < 2 && l.startsWith('#'))).join('\n'), renderRoutesVcl(routes, { backends: false }))
})

t.test('the generated site VCL with routes compiles with the edge\'s own VCL (varnishd -C)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-routes-vcl-'))
  chmodSync(dir, 0o755) // as root, varnishd's compiler runs as the varnish user
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const routes = loadRoutes(path.join(projectRoot, 'varnish/tests/legacy/routes.yaml'), 'http://127.0.0.1:9')
  const b = { host: '127.0.0.1', port: 1 }
  for (const pageTier of [undefined, { host: '127.0.0.1', port: 2 }]) {
    writeFileSync(
      path.join(dir, 'tessera-site.vcl'),
      renderSiteVcl({ backends: { layout: [b], nav: [b], sidebar: [b], article: [b], sections: [b] }, purgeAcl: ['127.0.0.1'], purgeSecret: 's'.repeat(20), debugToken: 'd'.repeat(20), pageTier, routesVcl: renderRoutesVcl(routes) }),
    )
    const out = spawnSync('varnishd', ['-C', '-p', `vcl_path=${dir}:${path.join(projectRoot, 'varnish')}`, '-f', path.join(projectRoot, 'varnish/default.vcl')], { encoding: 'utf8' })
    t.equal(out.status, 0, `compiles (page tier ${pageTier ? 'on' : 'off'}): ${out.stderr.slice(0, 2000)}`)
  }
})
