# The test stand-in for the generated tessera-site.vcl: ACL and secrets, no backends (each .vtc declares its
# own, pointing at its vtc servers, before including default.vcl) and no probes (they would eat vtc requests).
# The page tier is off here; varnish/tests/page-tier/tessera-site.vcl is the stand-in with it on.

acl tessera_purgers {
    "127.0.0.1";
}

sub tessera_site_recv {
    unset req.http.X-Tessera-Purge-Ok;
    unset req.http.X-Tessera-Debug-Ok;
    unset req.http.X-Tessera-Inner-Ok;
    unset req.http.X-Tessera-Page-Tier-On;
    if (client.ip ~ tessera_purgers && req.http.X-Tessera-Purge-Secret == "test-purge-secret-0123456789") {
        set req.http.X-Tessera-Purge-Ok = "1";
    }
    if (req.http.X-Tessera-Debug == "test-debug-token-0123456789") {
        set req.http.X-Tessera-Debug-Ok = "1";
    }
}

sub tessera_site_page_tier_backend {
}

sub tessera_site_page_tier_fetch {
}
