# Inputs at the edge: only the methods we serve, one canonical form per URL, no client state in the cache key.

sub tessera_normalize_recv {
    if (req.method != "GET" && req.method != "HEAD" && req.method != "PURGE"
        && !(req.method ~ "^(POST|PUT|PATCH|DELETE|OPTIONS)$" && str.count(var.get("tessera_route")) > 0)) {
        # (a legacy or app route takes writes: legacy.vcl passes them to its origin)
        return (synth(405, "Method not allowed"));
    }
    if (req.url !~ "^/") {
        return (synth(400, "Bad request target"));
    }
    if (str.count(req.url) > 8192) {
        return (synth(414, "URI too long"));   # no page or fragment URL comes near it
    }
    if (!req.http.Host && req.proto ~ "^HTTP/1\.1$" && req.esi_level == 0) {
        return (synth(400, "Missing Host header"));   # RFC 9112 3.2
    }
    # Query strings: sorted, and empty ones dropped, so ?a=1&b=2 and ?b=2&a=1 are one object.
    if (req.url ~ "\?") {
        set req.url = std.querysort(req.url);
        set req.url = regsub(req.url, "\?$", "");
    }
}

# A read the general route would pass through unchanged, decided next to the rules it mirrors: this sub's
# (a GET/HEAD, a path of at most 8192 characters, no query to sort, a Host or not HTTP/1.1), routing.vcl's (not
# /metrics) and stale.vcl's (not a restart). The page tier's short route takes it (tier.vcl, which calls this
# for a reader's page only); keep this in step when one of those rules changes.
sub tessera_normalize_plain_read_recv {
    if (req.restarts == 0 && (req.method == "GET" || req.method == "HEAD")
        && req.url ~ "^/(?!metrics(\?|$))[^?]{0,8191}$" && (req.http.Host || req.proto != "HTTP/1.1")) {
        call tessera_tier_short_route_recv;   # returns (hash)
    }
}

# What a client sends that must not reach an origin: headers that would choose the host or URL an origin sees,
# and client state (pages and fragments are the same for every reader; the cache key never includes them).
# Removed from the fetch, not from the request: a cached page is then served without touching them.
sub tessera_normalize_backend_fetch {
    unset bereq.http.X-Forwarded-Host;
    unset bereq.http.X-Original-URL;
    unset bereq.http.X-Rewrite-URL;
    if (var.get("tessera_route") !~ " pass=1$") {   # (legacy.vcl: a logged-in reader's or a write's own fetch)
        unset bereq.http.Cookie;
        unset bereq.http.Authorization;
    }
}

sub tessera_normalize_synth {
    if (resp.status == 405) {
        set resp.http.Allow = "GET, HEAD";
    }
}
