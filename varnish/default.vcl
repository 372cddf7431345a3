vcl 4.1;
# Tessera's edge. This file only orders the concerns; each lives in its own file (sub tessera_<concern>_<stage>).
# tessera-site.vcl is written by the launcher into the state dir (backends, purge ACL, secrets) and found
# through vcl_path; see topology/site-vcl.ts.

import std;
import xkey;
import purge;
import var;
import header;
import str;
import directors;

include "tessera-site.vcl";
include "normalize.vcl";
include "routing.vcl";
include "purge.vcl";
include "policy.vcl";
include "stale.vcl";
include "retry.vcl";
include "esi.vcl";
include "fallback.vcl";
include "internal-headers.vcl";
include "headers.vcl";
include "stats.vcl";
include "request-id.vcl";
include "tier.vcl";
include "shield.vcl";
include "legacy.vcl";
include "preview.vcl";

sub vcl_recv {
    call tessera_site_recv;        # who is asking: purge ACL + secret, debug token
    call tessera_routes_recv;      # the routes file (tessera-site.vcl): Tessera, the legacy CMS or an app
    call tessera_preview_recv;     # a draft preview: to the layout, passed (returns)
    call tessera_tier_front_recv;  # a reader's page: the page tier's mark; a plain read takes a short route (returns)
    call tessera_shield_recv;      # the shield tier's own probe URL
    call tessera_request_id_recv;  # one X-Request-Id for a page and its includes
    call tessera_normalize_recv;   # methods, target, Host, URL length, query order
    call tessera_stale_recv;       # second pass after vcl_hit found a copy too stale to serve
    call tessera_purge_recv;       # PURGE by surrogate key (hard or soft)
    call tessera_routing_recv;     # which service answers this URL
    call tessera_shield_route;     # an edge: through the shield tier when there is one; the shield: fresh copies
    call tessera_stats_recv;       # tag the request with its fragment or page type
    call tessera_tier_recv;        # pages from the assembled-page tier; the inner socket's assemblies
    call tessera_legacy_recv;      # a logged-in reader, a write or an uncached route: to its origin uncached
    return (hash);
}

sub vcl_hash {
    # One site per edge: the Host header is not part of the key, so it cannot poison the cache.
    hash_data(req.url);
    call tessera_tier_hash;        # the assembled copy of a page is another object than its shell
    call tessera_legacy_hash;      # a legacy or app route's copy is its own (a route moved to Tessera never serves it)
    return (lookup);
}

sub vcl_hit {
    call tessera_purge_hit_or_miss;   # PURGE of one URL
    call tessera_stale_hit;           # stale past its grace window while the origin is healthy: fetch now
    call tessera_tier_hit;            # an assembly measures fresh objects only
    if (obj.ttl <= 0s) {
        call tessera_fetch_context;   # a stale copy is served while a background fetch refreshes it
    }
}

sub vcl_miss {
    call tessera_purge_hit_or_miss;
    call tessera_fetch_context;
}

# What the backend side needs to know of the request, written only when there is a fetch (a cached page is
# served without them). The client side keeps its flags in task variables (vmod var), which a client cannot
# send and a fetch cannot read.
sub tessera_fetch_context {
    call tessera_stale_fetch_context;        # X-Tessera-Fresh-Only: a failed fetch keeps the stale copy
    call tessera_request_id_recv;            # X-Request-Id (tier.vcl's short route leaves it to here)
    call tessera_legacy_fetch_context;       # X-Tessera-Route: the route's numbers, for the backend side
}

sub vcl_backend_fetch {
    call tessera_legacy_backend_fetch;      # the route of a legacy or app fetch (first: normalize reads it)
    call tessera_normalize_backend_fetch;   # client state and host/URL overrides never reach an origin
    call tessera_routing_backend_fetch;
    call tessera_retry_backend_fetch;       # a retry goes to another instance of the service (retry.vcl)
    call tessera_shield_backend_fetch;      # a fetch the shield could not serve goes to the origin
    call tessera_tier_backend_fetch;
    call tessera_stats_backend_fetch;       # what the fetch is for (logged with its answer)
}

sub vcl_backend_response {
    call tessera_stats_backend_response;    # one record per origin fetch, with its status and time
    call tessera_retry_backend_response;    # a 5xx from one instance: once more on another (returns)
    call tessera_shield_backend_response;   # a shield's copy older than this edge's latest purge: the origin (retry)
    call tessera_tier_backend_response;     # an assembled page from the inner socket (returns)
    call tessera_legacy_backend_response;   # a legacy or app origin, cached by its own headers (returns)
    call tessera_esi_backend_response;      # ESI only on page shells (first: the policy may return early)
    call tessera_policy_backend_response;   # TTL from Cache-Control, errors never cached, the purge race
    call tessera_stale_backend_response;    # stale-while-revalidate and stale-if-error windows
}

sub vcl_backend_error {
    call tessera_stats_backend_response;
    call tessera_retry_backend_error;       # an unreachable instance: once more on another (returns)
    call tessera_shield_backend_error;      # a shield that did not answer: the origin (retry)
    call tessera_fallback_backend_error;
}

sub vcl_deliver {
    call tessera_tier_front_deliver; # a fresh page-tier hit: the shortest route out (returns)
    call tessera_purge_deliver;      # before the rest: an object that entered the cache as a purge arrived is removed
    call tessera_tier_deliver;       # an assembly's look-ups restart before anything is delivered
    call tessera_request_id_response;
    call tessera_fallback_deliver;   # a failed include becomes its fallback, not an error page inside a 200
    call tessera_stats_deliver;      # one record per delivery: hit, grace, miss or pass
    call tessera_shield_deliver;     # the shield: everything the edge needs, and its vouch (returns)
    call tessera_headers_deliver;    # browser cache headers; internal headers only with the debug token
    call tessera_legacy_deliver;     # a personal answer (pass, Set-Cookie): private, no-store
    call tessera_preview_deliver;    # a draft preview: private, no-store
}

sub vcl_synth {
    call tessera_headers_synth;      # no internal headers on the edge's own answers (first: later subs deliver)
    call tessera_request_id_response;
    call tessera_purge_synth;
    call tessera_stale_synth;        # a failed refresh when a stale copy exists: the stale copy
    call tessera_tier_synth;         # an assembly's look-up answered by the edge itself
    call tessera_fallback_synth;
    call tessera_normalize_synth;
}
