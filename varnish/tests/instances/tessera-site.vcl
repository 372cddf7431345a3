# The test stand-in for the generated tessera-site.vcl with three nav instances (retry-on-another-instance.vtc):
# as ../tessera-site.vcl otherwise. ACL and secrets, no backends (each .vtc declares its
# own, pointing at its vtc servers, before including default.vcl) and no probes (they would eat vtc requests).
# The page tier is off here; varnish/tests/page-tier/tessera-site.vcl is the stand-in with it on.

# nav runs as three instances here, as the generated file has them (topology/site-vcl.ts); the other
# services are the one backend each the .vtc declares. No probes (they would eat vtc requests): a backend is
# healthy until the test sets it sick.
sub vcl_init {
    new tessera_layout_instances = directors.round_robin();
    tessera_layout_instances.add_backend(tessera_layout);
    new tessera_nav_instances = directors.round_robin();
    tessera_nav_instances.add_backend(tessera_nav_1);
    tessera_nav_instances.add_backend(tessera_nav_2);
    tessera_nav_instances.add_backend(tessera_nav_3);
    new tessera_sidebar_instances = directors.round_robin();
    tessera_sidebar_instances.add_backend(tessera_sidebar);
    new tessera_article_instances = directors.round_robin();
    tessera_article_instances.add_backend(tessera_article);
    new tessera_sections_instances = directors.round_robin();
    tessera_sections_instances.add_backend(tessera_sections);
}

sub tessera_site_retry_pick {
    if (beresp.backend.name == "tessera_nav_1") {
        if (std.healthy(tessera_nav_2)) {
            var.set("tessera_retry_to", "tessera_nav_2");
        } elsif (std.healthy(tessera_nav_3)) {
            var.set("tessera_retry_to", "tessera_nav_3");
        }
    } elsif (beresp.backend.name == "tessera_nav_2") {
        if (std.healthy(tessera_nav_3)) {
            var.set("tessera_retry_to", "tessera_nav_3");
        } elsif (std.healthy(tessera_nav_1)) {
            var.set("tessera_retry_to", "tessera_nav_1");
        }
    } elsif (beresp.backend.name == "tessera_nav_3") {
        if (std.healthy(tessera_nav_1)) {
            var.set("tessera_retry_to", "tessera_nav_1");
        } elsif (std.healthy(tessera_nav_2)) {
            var.set("tessera_retry_to", "tessera_nav_2");
        }
    }
}

sub tessera_site_retry_backend {
    if (var.get("tessera_retry_to") == "tessera_nav_1") {
        set bereq.backend = tessera_nav_1;
    } elsif (var.get("tessera_retry_to") == "tessera_nav_2") {
        set bereq.backend = tessera_nav_2;
    } elsif (var.get("tessera_retry_to") == "tessera_nav_3") {
        set bereq.backend = tessera_nav_3;
    }
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

# The page tier's late-bound includes: none (../tessera-page-tier-late.vcl), or /fragments/nav (../page-tier-late/,
# first on its tests' vcl_path).
include "tessera-page-tier-late.vcl";

sub tessera_site_shield_route {
}

sub tessera_site_shield_bypass {
}
# No routes file (../tessera-routes.vcl, on the vcl_path).
include "tessera-routes.vcl";
