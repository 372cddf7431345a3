# Draft previews (/preview/<path>?token=...): an editor's view of unpublished content. Always passed straight to
# the layout service, which checks the token: never looked up, never cached (not even as hit-for-miss), never
# assembled by the page tier or asked of the shield tier, never shared with another reader. A route of the
# routes file that claims /preview/ keeps it (its origin answers).

sub tessera_preview_recv {
    if (req.url ~ "^/preview(/|\?|$)" && req.esi_level == 0 && local.socket != "inner" && str.count(var.get("tessera_route")) <= 0) {
        call tessera_request_id_recv;
        call tessera_normalize_recv;   # methods, target, Host, URL length (synth for what it refuses)
        if (req.method != "GET" && req.method != "HEAD") {
            return (synth(405, "Method not allowed"));
        }
        var.set("tessera_preview", "1");
        unset req.http.X-Tessera-Tier;   # (a client's own copy, or the front's mark: not a page-tier page)
        set req.backend_hint = tessera_layout_instances.backend();
        return (pass);
    }
}

sub tessera_preview_deliver {
    if (var.get("tessera_preview") == "1") {
        # (headers.vcl's browser policy is for pages every reader shares)
        set resp.http.Cache-Control = "private, no-store";
    }
}
