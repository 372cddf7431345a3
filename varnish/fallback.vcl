# What a page shows when something fails and no stale copy is left (stale.vcl has tried that first).
# - A failed include must not put an error page inside a 200 page (Varnish 7.1 would insert the 5xx body): it
#   becomes the fragment's own fallback, declared in the fragment's code and served by its service at
#   /fragments/<name>/_fallback with a long TTL (the launcher warms it at start), or, when that cannot be had
#   either, an empty element naming the fragment.
# - A page whose shell cannot be produced is a proper 503 page.
# - The article body is required: a page is streamed before its includes are fetched, so once its status is
#   out a failed body can only show its fallback. While the article origin is sick, an article page first
#   checks its body (a restart to the body's URL, served fresh, stale or fetched): no body, a 503 page.

sub tessera_fallback_deliver {
    if (req.esi_level == 0 && str.count(var.get("tessera_body_check_for")) > 0) {
        # the body check of an article page (below): no body is a 503 page; a body, the page
        if (resp.status >= 500) {
            return (synth(503, "Temporarily unavailable"));
        }
        set req.url = var.get("tessera_body_check_for");
        var.set("tessera_body_check_for", "");
        return (restart);
    }
    # (The page tier checks the body while it assembles, tier.vcl; a cached assembled page has one.)
    # (The shield tier does no ESI: the edge checks.)
    if (req.esi_level == 0 && req.http.X-Tessera-Tier != "page" && local.socket != "inner" && local.socket != "shield" && resp.status == 200
        && req.url ~ "^/articles/" && var.get("tessera_body_checked") != "1"
        && !std.healthy(tessera_article_instances.backend()) && resp.http.xkey ~ "(^|[ ,])article:[a-z0-9-]+") {
        var.set("tessera_body_checked", "1");
        var.set("tessera_body_check_for", req.url);
        set req.url = "/fragments/article/" + regsub(resp.http.xkey, "^(.*[ ,])?article:([a-z0-9-]+).*$", "\2");
        return (restart);
    }
    if (req.esi_level > 0 && resp.status >= 500) {
        std.log("tessera-fallback: " + req.url + " answered " + resp.status);
        if (str.count(var.get("tessera_fallback_for")) <= 0 && req.url ~ "^/fragments/[a-z]+" && req.restarts < 3) {
            var.set("tessera_fallback_for", req.url);
            set req.url = regsub(req.url, "^/fragments/([a-z]+).*$", "/fragments/\1/_fallback");
            return (restart);
        }
        return (synth(resp.status, "Fragment unavailable"));
    }
    if (req.esi_level == 0 && resp.status >= 500 && req.method != "PURGE" && !resp.http.X-Tessera-Fallback) {
        return (synth(503, "Temporarily unavailable"));
    }
}

sub tessera_fallback_backend_error {
    if (bereq.is_bgfetch || bereq.http.X-Tessera-Fresh-Only) {
        return (abandon);   # keep the stale copy (stale.vcl)
    }
    # Origin unreachable: a short, uncached error; vcl_deliver decides what readers see instead.
    set beresp.http.Content-Type = "text/plain; charset=utf-8";
    set beresp.http.Cache-Control = "no-store";
    synthetic("origin unavailable");
    return (deliver);
}

sub tessera_fallback_synth {
    if (req.esi_level > 0 && resp.status >= 500) {
        set resp.http.Content-Type = "text/html; charset=utf-8";
        synthetic({"<div data-fragment=""} + regsub(regsub(req.url, "^/fragments/([a-z]+).*$", "\1"), "[^a-z]", "") + {"" data-fragment-state="unavailable"></div>"});
        set resp.status = 200;
        return (deliver);
    }
    if (req.esi_level == 0 && resp.status == 503 && req.method != "PURGE") {
        set resp.http.Content-Type = "text/html; charset=utf-8";
        set resp.http.Cache-Control = "no-store";
        set resp.http.Retry-After = "5";
        synthetic({"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Temporarily unavailable · Tessera Magazine</title></head>
<body><h1>Temporarily unavailable</h1><p>This page cannot be shown right now. Please try again in a moment.</p></body></html>
"});
        return (deliver);
    }
}
