# The test stand-in for the generated tessera-site.vcl: ACL and secrets, no backends (each .vtc declares its
# own, pointing at its vtc servers, before including default.vcl) and no probes (they would eat vtc requests).
# The page tier is off here; varnish/tests/page-tier/tessera-site.vcl is the stand-in with it on.

acl tessera_purgers {
    "127.0.0.1";
}

sub tessera_site_recv {
    if (req.method == "PURGE" && client.ip ~ tessera_purgers && req.http.X-Tessera-Purge-Secret == "test-purge-secret-0123456789") {
        var.set("tessera_purge_ok", "1");
    }
    if (req.http.X-Tessera-Debug == "test-debug-token-0123456789") {
        var.set("tessera_debug_ok", "1");
    }
}

sub tessera_site_page_tier_recv {
    unset req.http.X-Tessera-Tier;
}

sub tessera_site_page_tier_backend {
}

sub tessera_site_page_tier_fetch {
}
