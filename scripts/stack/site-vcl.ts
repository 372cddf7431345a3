// tessera-site.vcl: the part of the edge's VCL that comes from configuration (backends, purge ACL, secrets).
// default.vcl includes it; the launcher writes it into the state dir, which is first on vcl_path.
import type { FragmentName } from '../../fragments/kit/config.js'

export type BackendName = FragmentName | 'layout'

export interface SiteVclOptions {
  backends: Record<BackendName, { host: string; port: number }>
  purgeAcl: string[] // addresses or CIDRs allowed to PURGE
  purgeSecret: string
  debugToken: string
  /** The page tier's inner listen address (varnish/tier.vcl); absent: the tier is off. */
  pageTier?: { host: string; port: number }
}

// A fragment renders in milliseconds: one that has not started answering in 2 s is stuck, and its stale copy
// or fallback serves the page better than waiting. A page costs at most its shell's and its includes' timeouts.
export const FRAGMENT_TIMEOUTS = { connect: '500ms', firstByte: '2s', betweenBytes: '1s' }
export const LAYOUT_TIMEOUTS = { connect: '500ms', firstByte: '3s', betweenBytes: '1s' }
// The inner address answers a page's headers once the shell and every include have been looked up (fetched, at
// worst, one after another, each within its own timeouts above).
export const PAGE_TIER_TIMEOUTS = { connect: '500ms', firstByte: '20s', betweenBytes: '5s' }

const TOKEN = /^[A-Za-z0-9._~-]{16,256}$/
const ACL_ENTRY = /^[0-9a-fA-F.:]+(\/[0-9]{1,3})?$/

export function renderSiteVcl(options: SiteVclOptions): string {
  // Values are checked before they reach VCL: nothing in the config can break out of a string literal.
  for (const [name, value] of [['purge secret', options.purgeSecret], ['debug token', options.debugToken]] as const) {
    if (!TOKEN.test(value)) throw new Error(`${name} must be 16-256 characters of [A-Za-z0-9._~-]`)
  }
  const backends = Object.entries(options.backends)
    .map(([name, { host, port }]) => {
      if (!/^[0-9a-zA-Z.:-]+$/.test(host)) throw new Error(`backend host ${host} is not a plain host name or address`)
      const t = name === 'layout' ? LAYOUT_TIMEOUTS : FRAGMENT_TIMEOUTS
      return `backend tessera_${name} {
    .host = "${host}";
    .port = "${port}";
    .connect_timeout = ${t.connect};
    .first_byte_timeout = ${t.firstByte};
    .between_bytes_timeout = ${t.betweenBytes};
    .probe = tessera_health;
}`
    })
    .join('\n\n')
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
  return `# Written by scripts/stack/site-vcl.ts from the configuration; do not edit by hand.

probe tessera_health {
    .url = "/health";
    .interval = 1s;
    .timeout = 500ms;
    .window = 3;
    .threshold = 2;
    .initial = 2;
}

${backends}
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
`
}
