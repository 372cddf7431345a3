// The generated half of the edge's routing for a site with a legacy CMS (issue 16): one backend (with its
// probe and timeouts) per legacy origin or app, and `tessera_routes_recv`, which walks the routes file in its
// order. The rules themselves (caching the legacy by its own headers, errors never cached, pass cookies,
// Surrogate-Key, ESI from legacy pages) are hand-written in varnish/legacy.vcl; this only says which route a
// URL is on and with which numbers. site-vcl.ts appends the result to tessera-site.vcl (its `routesVcl` hook).
//
// Client side, a routed request carries its route in task variables (vmod var), which a client cannot send:
//   tessera_route       "name=<n> kind=legacy|app cache=1|0 ttl=<s> swr=<s> sie=<s> includes=<url>,<url>"
//                       (empty: Tessera's own routing, as without a routes file)
//   tessera_route_pass  "1": a session cookie the route names is present (legacy.vcl passes the request)
//   tessera_route_tier  "no": not for the page tier (tier.vcl); only a cacheable route that lists its includes is
import type { Route, RouteBackend, Routes } from './routes.js'

function backendVcl(b: RouteBackend): string {
  const probe = b.probe
    ? `
    .probe = {
        .url = "${b.probe.url}";
        .interval = ${b.probe.interval};
        .timeout = ${b.probe.timeout};
        .window = ${b.probe.window};
        .threshold = ${b.probe.threshold};
        .initial = ${b.probe.threshold};
    }`
    : ''
  return `backend ${b.vclName} {
    .host = "${b.host}";
    .port = "${b.port}";
    .connect_timeout = ${b.connectTimeout};
    .first_byte_timeout = ${b.firstByteTimeout};
    .between_bytes_timeout = ${b.betweenBytesTimeout};${probe}
}`
}

/** The PCRE that finds one of the route's session cookies in a Cookie header. */
export function passCookieRegex(names: readonly string[]): string {
  const alternatives = names.map((n) => n.replace(/\./g, '\\.').replace(/\*$/, '[^=;]*'))
  return `(^|;\\s*)(${alternatives.join('|')})=`
}

/** The route's numbers, as legacy.vcl reads them (see the header comment). */
export function routeTag(route: Route): string {
  const p = route.policy!
  return `name=${route.name} kind=${route.to} cache=${p.cache ? 1 : 0} ttl=${p.ttl} swr=${p.staleWhileRevalidate} sie=${p.staleIfError}` + (p.includes.length ? ` includes=${p.includes.join(',')}` : '')
}

function branchBody(route: Route): string {
  if (route.to === 'tessera') return `    # ${route.name}: Tessera's layouts and fragments (today's routing)`
  const p = route.policy!
  const lines = [
    `    # ${route.name}: ${route.to === 'legacy' ? 'the legacy CMS' : `the app at ${route.backend!.host}:${route.backend!.port}`}`,
    `    set req.backend_hint = ${route.backend!.vclName};`,
    `    var.set("tessera_route", "${routeTag(route)}");`,
  ]
  const tierOk = p.cache && p.includes.length > 0
  if (!tierOk) lines.push(`    var.set("tessera_route_tier", "no");`)
  if (p.passCookies.length) {
    lines.push(
      `    if (req.http.Cookie ~ "${passCookieRegex(p.passCookies)}") {`,
      `        var.set("tessera_route_pass", "1");`,
      ...(tierOk ? [`        var.set("tessera_route_tier", "no");`] : []),
      `    }`,
    )
  }
  return lines.join('\n')
}

/** VCL for the routes (backends and tessera_routes_recv); with no routes, an empty sub: today's behaviour. */
export function renderRoutesVcl(routes: Routes | undefined, options: { backends?: boolean } = {}): string {
  if (!routes) {
    return `
# No TESSERA_ROUTES and no TESSERA_LEGACY_ORIGIN: Tessera answers every URL (routing.vcl).
sub tessera_routes_recv {
}
`
  }
  const branches = routes.routes.map((r, i) => `${i === 0 ? 'if' : '} elsif'} (req.url ~ "${r.regex}") {\n${branchBody(r)}\n`)
  let chain = ''
  if (branches.length) chain = branches.join('') + (routes.fallback ? `} else {\n${branchBody(routes.fallback)}\n}` : '}')
  else if (routes.fallback) chain = branchBody(routes.fallback).replace(/^    /gm, '')
  return `
# The routes file (TESSERA_ROUTES${routes.fallback ? ', default route TESSERA_LEGACY_ORIGIN' : ''}), rendered by topology/routes-vcl.ts.
${options.backends === false ? '# (backends declared by the test: varnish/tests/legacy-*.vtc)' : routes.backends.map(backendVcl).join('\n\n')}

# Which route a URL is on (first match wins); varnish/legacy.vcl applies the route's rules. Fragments, metrics
# and ESI sub-requests are Tessera's whatever the file says (a legacy page's includes are Tessera's fragments).
sub tessera_routes_recv {
    var.set("tessera_route", "");
    var.set("tessera_route_pass", "");
    var.set("tessera_route_tier", "");
    if (req.esi_level > 0 || req.url ~ "^/(fragments/|metrics(\\?|$))") {
        # Tessera's own
    } else {
${chain.replace(/^/gm, '        ').replace(/^ +$/gm, '')}
    }
}
`
}
