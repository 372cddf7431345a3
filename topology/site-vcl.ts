// tessera-site.vcl: the part of the edge's VCL that comes from configuration (backends, purge ACL, secrets).
// default.vcl includes it; the launcher writes it into the state dir, which is first on vcl_path, and a reload
// (topology/reload.ts) sends it inline in place of default.vcl's include line.
// Every instance of a service is a backend with its own probe (tessera_<service> when it is the only one,
// tessera_<service>_<n> when there are several); the instances of a
// service form one round_robin director (tessera_<service>_instances), which routing.vcl uses. A fetch that
// fails on one instance is retried once on another healthy one (varnish/retry.vcl; the choice is made here).
import { ARTICLE_BODY_INCLUDE, LATE_INCLUDE_URL, ORIGIN_NAMES, type OriginName } from '../platform/config.js'
import { renderRoutesVcl } from './routes-vcl.js'

export type BackendName = OriginName

export interface SiteVclOptions {
  /** Every instance of every service behind the edge, in order (backend tessera_<service>, or tessera_<service>_<n> from 1 when there are several). */
  backends: Record<BackendName, Array<{ host: string; port: number }>>
  purgeAcl: string[] // addresses or CIDRs allowed to PURGE
  purgeSecret: string
  debugToken: string
  /** The page tier's inner listen address (varnish/tier.vcl); absent: the tier is off. */
  pageTier?: { host: string; port: number }
  /** The page tier's late-bound includes (TESSERA_PAGE_TIER_LATE_INCLUDES): exact URLs; only with pageTier. */
  lateIncludes?: string[]
  /** The routes file's part (routes-vcl.ts: backends and tessera_routes_recv); absent: Tessera answers every URL. */
  routesVcl?: string
  /**
   * The shield tier (varnish/shield.vcl). `shield`: this node is a shield (listening as socket "shield"; no page
   * tier, no shields of its own). `edge` with shields: fragments and shells go to the shields (sharded by URL)
   * first, the origins when every shield is sick.
   */
  role?: 'edge' | 'shield'
  shields?: ShieldAddress[]
}

export interface ShieldAddress {
  name: string
  host: string
  port: number
}

// A fragment renders in milliseconds: one that has not started answering in 2 s is stuck, and its stale copy
// or fallback serves the page better than waiting. A page costs at most its shell's and its includes' timeouts.
export const FRAGMENT_TIMEOUTS = { connect: '500ms', firstByte: '2s', betweenBytes: '1s' }
export const LAYOUT_TIMEOUTS = { connect: '500ms', firstByte: '3s', betweenBytes: '1s' }
// The inner address answers a page's headers once the shell and every include have been looked up (fetched, at
// worst, one after another, each within its own timeouts above).
export const PAGE_TIER_TIMEOUTS = { connect: '500ms', firstByte: '20s', betweenBytes: '5s' }
// A shield answers within its origins' own timeouts (a fragment's 2 s, a shell's 3 s) or from its cache; one that
// does not is bypassed for that fetch (a retry at the origin, varnish/shield.vcl).
export const SHIELD_TIMEOUTS = { connect: '300ms', firstByte: '3500ms', betweenBytes: '1s' }

const TOKEN = /^[A-Za-z0-9._~-]{16,256}$/
const ACL_ENTRY = /^[0-9a-fA-F.:]+(\/[0-9]{1,3})?$/

export function renderSiteVcl(options: SiteVclOptions): string {
  // Values are checked before they reach VCL: nothing in the config can break out of a string literal.
  for (const [name, value] of [['purge secret', options.purgeSecret], ['debug token', options.debugToken]] as const) {
    if (!TOKEN.test(value)) throw new Error(`${name} must be 16-256 characters of [A-Za-z0-9._~-]`)
  }
  const instances = ORIGIN_NAMES.map((service) => {
    const list = options.backends[service]
    if (!list || list.length === 0) throw new Error(`service ${service} has no instance`)
    // One instance keeps the service's own name (tessera_nav); several are tessera_nav_1, tessera_nav_2...
    return { service, names: list.length === 1 ? [`tessera_${service}`] : list.map((_, i) => `tessera_${service}_${i + 1}`), list }
  })
  const backends = instances
    .flatMap(({ service, names, list }) => list.map(({ host, port }, i) => {
      if (!/^[0-9a-zA-Z.:-]+$/.test(host)) throw new Error(`backend host ${host} is not a plain host name or address`)
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`backend port ${port} of ${service} is not a TCP port`)
      return backendVcl(names[i], host, port, service === 'layout' ? LAYOUT_TIMEOUTS : FRAGMENT_TIMEOUTS, 'tessera_health')
    }))
    .join('\n\n')
  const directors = instances
    .map(({ service, names }) => `    new tessera_${service}_instances = directors.round_robin();\n${names.map((n) => `    tessera_${service}_instances.add_backend(${n});`).join('\n')}`)
    .join('\n')
  // For each instance that failed, the others of its service in order after it: the first healthy one is tried.
  const picks = instances.filter(({ names }) => names.length > 1).flatMap(({ names }) => names.map((failed, i) => {
    const others = [...names.slice(i + 1), ...names.slice(0, i)]
    return `if (beresp.backend.name == "${failed}") {
        ${others.map((o) => `if (std.healthy(${o})) {
            var.set("tessera_retry_to", "${o}");
        }`).join(' els')}
    }`
  }))
  const retryPick = picks.length ? `\n    ${picks.join(' els')}` : ''
  const retryTargets = instances.filter(({ names }) => names.length > 1).flatMap(({ names }) => names)
  const retryBackend = retryTargets.length
    ? `\n    ${retryTargets.map((n) => `if (var.get("tessera_retry_to") == "${n}") {
        set bereq.backend = ${n};
    }`).join(' els')}`
    : ''
  const acl = options.purgeAcl
    .map((entry) => {
      if (!ACL_ENTRY.test(entry)) throw new Error(`purge ACL entry ${entry} is not an address or CIDR`)
      const [address, bits] = entry.split('/')
      return `    "${address}"${bits ? `/${bits}` : ''};`
    })
    .join('\n')
  const tier = options.pageTier
  if (tier && !/^[0-9a-zA-Z.:-]+$/.test(tier.host)) throw new Error(`page tier host ${tier.host} is not a plain host name or address`)
  const tierBackend = tier
    ? `
# The page tier: this varnishd's own inner listen address (no probe: it is this process).
backend tessera_pages {
    .host = "${tier.host}";
    .port = "${tier.port}";
    .connect_timeout = ${PAGE_TIER_TIMEOUTS.connect};
    .first_byte_timeout = ${PAGE_TIER_TIMEOUTS.firstByte};
    .between_bytes_timeout = ${PAGE_TIER_TIMEOUTS.betweenBytes};
}
`
    : ''
  const late = options.lateIncludes ?? []
  if (late.length > 0 && !tier) throw new Error('late-bound includes are a page tier setting: the tier is off')
  const role = options.role ?? 'edge'
  if (role === 'shield' && (options.pageTier || options.shields?.length)) throw new Error('a shield has no page tier and no shields of its own')
  const shield = renderShieldVcl(role, options.shields ?? [], ORIGIN_NAMES)
  return `# Written by topology/site-vcl.ts from the configuration; do not edit by hand.

${probeVcl('tessera_health', '500ms')}

${backends}

sub vcl_init {
${directors}
}

# A failed fetch (varnish/retry.vcl): which other instance of the same service to try, the first healthy one
# after the failed one (none when the service has one instance, or no other is healthy).
sub tessera_site_retry_pick {${retryPick}
}

sub tessera_site_retry_backend {${retryBackend}
}
${tierBackend}
acl tessera_purgers {
${acl}
}

sub tessera_site_recv {
    # Who is asking. The answers are task variables (vmod var), which a client cannot send, not request headers
    # (each header test or removal scans every header of the request: this runs for every request).${tier ? `
    if (local.socket == "inner" && req.http.X-Tessera-Inner-Secret == "${options.purgeSecret}") {
        var.set("tessera_inner_ok", "1");
    }` : ''}
    if (req.method == "PURGE" && client.ip ~ tessera_purgers && req.http.X-Tessera-Purge-Secret == "${options.purgeSecret}") {
        var.set("tessera_purge_ok", "1");
    }
    if (req.http.X-Tessera-Debug == "${options.debugToken}") {
        var.set("tessera_debug_ok", "1");
    }
}

# A reader's page at the front (varnish/tier.vcl): answered by the page tier when it is on.
sub tessera_site_page_tier_recv {${tier ? `
    set req.http.X-Tessera-Tier = "page";` : `
    unset req.http.X-Tessera-Tier;   # (a client's)`}
}

sub tessera_site_page_tier_backend {${tier ? `
    set req.backend_hint = tessera_pages;` : ''}
}

sub tessera_site_page_tier_fetch {${tier ? `
    set bereq.http.X-Tessera-Inner-Secret = "${options.purgeSecret}";` : ''}
}

${renderLateIncludesVcl(late)}
${shield}
${options.routesVcl ?? renderRoutesVcl(undefined)}`
}

/**
 * The page tier's late-bound includes as the two subs varnish/tier.vcl calls (empty subs for none): which
 * include sub-request of an assembly is answered with its own tag, and the assembly's list of includes to look
 * up without them. (varnish/tests/page-tier-late/tessera-page-tier-late.vcl is this for /fragments/nav.)
 */
export function renderLateIncludesVcl(urls: string[]): string {
  for (const url of urls) {
    if (!LATE_INCLUDE_URL.test(url) || ARTICLE_BODY_INCLUDE.test(url)) throw new Error(`late-bound include ${url} must be an include URL under /fragments/ other than an article body`)
  }
  const alternatives = urls.map((url) => url.replaceAll('.', '\\.')).join('|')
  return `# The page tier's late-bound includes (TESSERA_PAGE_TIER_LATE_INCLUDES, varnish/tier.vcl): left out of a page
# copy, which keeps their tags for the front to resolve on each delivery.
sub tessera_site_page_tier_late_recv {${urls.length ? `
    if (${urls.map((url) => `req.url == "${url}"`).join(' || ')}) {
        var.set("tessera_late", "1");
    }` : ''}
}

sub tessera_site_page_tier_late_drop {${urls.length ? `
    set req.http.X-Tessera-Asm-Todo = regsuball(req.http.X-Tessera-Asm-Todo, "(?<![^ ])(${alternatives})(?![^ ])", "");` : ''}
}
`
}

/** One health probe: every second, healthy with 2 good answers of the last 3. */
function probeVcl(name: string, timeout: string): string {
  return `probe ${name} {
    .url = "/health";
    .interval = 1s;
    .timeout = ${timeout};
    .window = 3;
    .threshold = 2;
    .initial = 2;
}`
}

function backendVcl(name: string, host: string, port: number, t: { connect: string; firstByte: string; betweenBytes: string }, probe: string): string {
  return `backend ${name} {
    .host = "${host}";
    .port = "${port}";
    .connect_timeout = ${t.connect};
    .first_byte_timeout = ${t.firstByte};
    .between_bytes_timeout = ${t.betweenBytes};
    .probe = ${probe};
}`
}

/** The first line of a shield's own part of its site VCL: how a site VCL file says it is a shield's. */
export const SHIELD_SITE_MARK = '# This node is a shield.'

/** The shield tier's part of the site VCL (varnish/shield.vcl calls the two subs). */
function renderShieldVcl(role: 'edge' | 'shield', shields: ShieldAddress[], origins: readonly BackendName[]): string {
  if (role === 'shield') {
    return `
${SHIELD_SITE_MARK} It starts empty: what it serves is good as of its start, until its first purge.
sub vcl_init {
    var.global_set("tessera_last_purge_sent", "" + std.time2real(now, 0.0));
}

sub tessera_site_shield_route {
}

sub tessera_site_shield_bypass {
}
`
  }
  if (shields.length === 0) {
    return `
sub tessera_site_shield_route {
}

sub tessera_site_shield_bypass {
}
`
  }
  // A shield's backend is tessera_shield_<name> (a topology name's '-' becomes '_': VCL names have none).
  const ids = new Set<string>()
  for (const s of shields) {
    const id = s.name.replaceAll('-', '_')
    if (!/^[a-z0-9_]{1,40}$/.test(id) || ids.has(id)) throw new Error(`shield name ${s.name} must be unique, of lowercase letters, digits, - or _`)
    ids.add(id)
    if (!/^[0-9a-zA-Z.:-]+$/.test(s.host)) throw new Error(`shield host ${s.host} is not a plain host name or address`)
    if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new Error(`shield port ${s.port} of ${s.name} is not a TCP port`)
  }
  const backendOf = (s: ShieldAddress) => `tessera_shield_${s.name.replaceAll('-', '_')}`
  const backends = shields.map((s) => backendVcl(backendOf(s), s.host, s.port, SHIELD_TIMEOUTS, 'tessera_shield_health')).join('\n\n')
  const branches = (test: (o: BackendName) => string, body: (o: BackendName) => string) =>
    `    ${origins.map((o) => `if (${test(o)}) {\n${body(o)}\n    }`).join(' els')}`
  return `

# The shield tier: each object lives on one shield (directors.shard, by URL); a fallback per origin takes the
# origin when every shield is sick.
${probeVcl('tessera_shield_health', '300ms')}

${backends}

sub vcl_init {
    new tessera_shields = directors.shard();
${shields.map((s) => `    tessera_shields.add_backend(${backendOf(s)});`).join('\n')}
    tessera_shields.reconfigure();
${origins.map((o) => `    new tessera_via_shield_${o} = directors.fallback();
    tessera_via_shield_${o}.add_backend(tessera_shields.backend());
    tessera_via_shield_${o}.add_backend(tessera_${o}_instances.backend());`).join('\n')}
}

sub tessera_site_shield_route {
${branches((o) => `req.backend_hint == tessera_${o}_instances.backend()`, (o) => `        set req.backend_hint = tessera_via_shield_${o}.backend();`)}
}

sub tessera_site_shield_bypass {
${branches((o) => `bereq.backend == tessera_via_shield_${o}.backend()`, (o) => `        set bereq.backend = tessera_${o}_instances.backend();\n        set bereq.http.X-Tessera-Shield-Bypass = "1";`)}
}
`
}
