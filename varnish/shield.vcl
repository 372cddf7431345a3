# The shield tier (TESSERA_SHIELD, topology `shield:` entries): one varnishd (or several, sharded by URL) between
# the edges and the origins. Edges send fragment and shell misses to it; it alone fetches from the origins.
#
# The shield runs these same concern files. Its listen address is named "shield" (scripts/stack/stack.ts), so
# `local.socket == "shield"` (readable on both sides of varnishd, and not something a client can send) is the
# role switch; its generated tessera-site.vcl has the origins as backends, no page tier and no shields.
# - It caches fragments and shells with the origins' own TTL/grace/keep and keys (policy.vcl, stale.vcl), but
#   does no ESI (esi.vcl), keeps the Surrogate-Control, X-Tessera-Includes, xkey and X-Tessera-Checked-At
#   headers for the edge (headers.vcl is for readers), and asks an origin synchronously for an object past its
#   TTL while the origin is healthy (an edge must not store a stale copy as fresh).
# - It vouches for what it serves from its cache: X-Tessera-Shield-Vouch is the send time of the latest purge it
#   has had (X-Tessera-Purge-Sent-At, written by the purge service on every purge; see purge.vcl). An object in
#   its cache has survived every purge up to then.
# - At an edge (the generated tessera_site_shield_route): fragments and shells go to a directors.fallback of the
#   shield tier, then the origin. A shield that cannot be reached or answers nothing is bypassed for that fetch
#   (a retry to the origin); a sick one is skipped by the director (probe on /health).
# - The race guard over the tier: the purge service purges every shield before any edge. An edge caches what a
#   shield vouched for only when the shield has had every purge the edge has had (vouch >= the edge's own
#   latest send time); otherwise (a shield that was down or not yet purged: Fastly's race) the fetch is retried
#   at the origin, so the old copy is neither kept nor served. What the shield does not vouch for (it fetched
#   it for this request and could not keep it, or a stale copy) goes through policy.vcl's own guard.

# In vcl_recv, after the page tier's short route (an edge's page reads never get here).
sub tessera_shield_recv {
    if (local.socket == "shield" && req.url == "/health" && req.method == "GET") {
        return (synth(200, "Shield ready"));   # the edges' probe: the shield itself, not an origin
    }
}

# In vcl_recv, after routing.vcl chose the origin.
sub tessera_shield_route {
    if (local.socket == "shield") {
        if (var.get("tessera_stale_ok") != "1" && std.healthy(req.backend_hint)) {
            # An edge asks because its own copy ran out: a fresh one (a failed fetch still gets the stale copy:
            # stale.vcl's fresh-only path).
            var.set("tessera_fresh_only", "1");
            set req.grace = 0s;
        }
    } else {
        call tessera_site_shield_route;   # (generated: empty without shields)
    }
}

# In vcl_deliver, before headers.vcl (which is for readers).
sub tessera_shield_deliver {
    if (local.socket == "shield") {
        if (obj.hits == 0) {
            set resp.http.X-Tessera-Shield = "miss";
        } elsif (obj.ttl <= 0s) {
            set resp.http.X-Tessera-Shield = "grace";
        } else {
            set resp.http.X-Tessera-Shield = "hit";
        }
        if (!obj.uncacheable && obj.ttl > 0s && resp.status < 500) {
            set resp.http.X-Tessera-Shield-Vouch = var.global_get("tessera_last_purge_sent");
        }
        # The shield's own second look (purge.vcl) is its business; an edge adds its own.
        if (resp.http.X-Tessera-Fill-Key) {
            std.collect(resp.http.xkey, " ");
            set resp.http.xkey = regsuball(resp.http.xkey, "(^| )fill:[0-9]+", "");
            unset resp.http.X-Tessera-Fill-Key;
            unset resp.http.X-Tessera-Fill-Checked;
        }
        return (deliver);
    }
}

# At an edge, in vcl_backend_fetch: a fetch the shield could not serve goes to the origin.
sub tessera_shield_backend_fetch {
    if (bereq.http.X-Tessera-Shield-Bypass) {
        call tessera_site_shield_bypass;   # (generated)
    }
}

# At an edge, in vcl_backend_response (after the stats record, before the policy).
sub tessera_shield_backend_response {
    if (local.socket == "shield") {
        unset beresp.http.X-Tessera-Shield-Vouch;   # (an origin has no say in it)
    } elsif (beresp.http.X-Tessera-Shield) {
        # Not streamed on: a shield that dies in the middle of a body then fails the fetch before anything was
        # sent to a reader, and vcl_backend_error retries it at the origin (below).
        set beresp.do_stream = false;
    }
    if (local.socket != "shield" && beresp.http.X-Tessera-Shield-Vouch) {
        if (std.real(beresp.http.X-Tessera-Shield-Vouch, 0.0) < std.real(var.global_get("tessera_last_purge_sent"), 0.0)) {
            std.log("tessera-shield: " + bereq.url + " vouched at " + beresp.http.X-Tessera-Shield-Vouch + ", before this edge's latest purge (sent at "
                + var.global_get("tessera_last_purge_sent") + "): fetched from the origin");
            if (!bereq.http.X-Tessera-Shield-Bypass) {
                set bereq.http.X-Tessera-Shield-Bypass = "1";
                return (retry);
            }
            unset beresp.http.X-Tessera-Shield-Vouch;   # (policy.vcl's own guard decides)
        }
    }
}

# At an edge, first in vcl_backend_error: a shield that cannot be reached (refused, reset, timed out, or gone in the
# middle of a body) is bypassed.
sub tessera_shield_backend_error {
    if (local.socket != "shield" && !bereq.http.X-Tessera-Shield-Bypass) {
        call tessera_site_shield_bypass;
        if (bereq.http.X-Tessera-Shield-Bypass) {
            std.log("tessera-shield: " + bereq.url + ": the shield did not answer; fetched from the origin");
            return (retry);
        }
    }
}
