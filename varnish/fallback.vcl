# A fragment that fails must not put an error page inside a 200 page (Varnish 7.1 would insert the 5xx body).
# It becomes an empty element naming the fragment; the page keeps its other parts.

sub tessera_fallback_deliver {
    if (req.esi_level > 0 && resp.status >= 500) {
        return (synth(resp.status, "Fragment unavailable"));
    }
}

sub tessera_fallback_backend_error {
    # Origin unreachable: a short, uncached error; readers of a page get the fragment fallback via vcl_deliver.
    set beresp.http.Content-Type = "text/plain; charset=utf-8";
    set beresp.http.Cache-Control = "no-store";
    synthetic("origin unavailable");
    return (deliver);
}

sub tessera_fallback_synth {
    if (req.esi_level > 0 && resp.status >= 500) {
        set resp.http.Content-Type = "text/html; charset=utf-8";
        set resp.http.X-Tessera-Fallback = "1";
        std.log("tessera-fallback: " + req.url + " status " + resp.status);
        synthetic({"<div data-fragment=""} + regsub(req.url, "^/fragments/([a-z]+).*$", "\1") + {"" data-fragment-state="unavailable"></div>"});
        set resp.status = 200;
        return (deliver);
    }
}
