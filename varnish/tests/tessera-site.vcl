# The test stand-in for the generated tessera-site.vcl: ACL and secrets, no backends (each .vtc declares its
# own, pointing at its vtc servers, before including default.vcl) and no probes (they would eat vtc requests).
# The page tier is off here; varnish/tests/page-tier/tessera-site.vcl is the stand-in with it on.

# The directors routing.vcl uses, each of the one backend the .vtc declares (the generated file has one
# backend per instance; varnish/tests/instances/ has a stand-in with several).
sub vcl_init {
    new tessera_layout_instances = directors.round_robin();
    tessera_layout_instances.add_backend(tessera_layout);
    new tessera_nav_instances = directors.round_robin();
    tessera_nav_instances.add_backend(tessera_nav);
    new tessera_sidebar_instances = directors.round_robin();
    tessera_sidebar_instances.add_backend(tessera_sidebar);
    new tessera_article_instances = directors.round_robin();
    tessera_article_instances.add_backend(tessera_article);
    new tessera_sections_instances = directors.round_robin();
    tessera_sections_instances.add_backend(tessera_sections);
}

# One instance per service: nothing to retry on (retry.vcl).
sub tessera_site_retry_pick {
}

sub tessera_site_retry_backend {
}

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

# The page tier's late-bound includes: none (tessera-page-tier-late.vcl), or /fragments/nav (page-tier-late/,
# first on its tests' vcl_path).
include "tessera-page-tier-late.vcl";

sub tessera_site_shield_route {
}

sub tessera_site_shield_bypass {
}
# The routes (topology/routes-vcl.ts): none (../tessera-routes.vcl), or the legacy tests' (../legacy/, first on
# their vcl_path).
include "tessera-routes.vcl";
