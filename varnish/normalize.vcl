# Inputs at the edge: only the methods we serve, one canonical form per URL, no client state in the cache key.

sub tessera_normalize_recv {
    if (req.method != "GET" && req.method != "HEAD" && req.method != "PURGE") {
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
    # Headers a client must not choose for us.
    unset req.http.X-Forwarded-Host;
    unset req.http.X-Original-URL;
    unset req.http.X-Rewrite-URL;
    # Query strings: sorted, and empty ones dropped, so ?a=1&b=2 and ?b=2&a=1 are one object.
    if (req.url ~ "\?") {
        set req.url = std.querysort(req.url);
        set req.url = regsub(req.url, "\?$", "");
    }
    # Pages and fragments are the same for every reader: cookies would only split the cache.
    if (req.method != "PURGE") {
        unset req.http.Cookie;
        unset req.http.Authorization;
    }
}

sub tessera_normalize_synth {
    if (resp.status == 405) {
        set resp.http.Allow = "GET, HEAD";
    }
}
