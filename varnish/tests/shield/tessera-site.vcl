# The test stand-in for an edge's generated tessera-site.vcl with a shield tier (topology/site-vcl.ts): as
# ../tessera-site.vcl, plus the shield's fallback directors. Each .vtc declares the origins' backends and
# tessera_shield_one (pointing at its shield varnish) before including default.vcl; no probes (the tests set
# health with backend.set_health).

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

# The page tier's late-bound includes: none (../tessera-page-tier-late.vcl), or /fragments/nav (../page-tier-late/,
# first on its tests' vcl_path).
include "tessera-page-tier-late.vcl";

sub vcl_init {
    new tessera_via_shield_layout = directors.fallback();
    tessera_via_shield_layout.add_backend(tessera_shield_one);
    tessera_via_shield_layout.add_backend(tessera_layout_instances.backend());
    new tessera_via_shield_nav = directors.fallback();
    tessera_via_shield_nav.add_backend(tessera_shield_one);
    tessera_via_shield_nav.add_backend(tessera_nav_instances.backend());
    new tessera_via_shield_article = directors.fallback();
    tessera_via_shield_article.add_backend(tessera_shield_one);
    tessera_via_shield_article.add_backend(tessera_article_instances.backend());
}

sub tessera_site_shield_route {
    if (req.backend_hint == tessera_layout_instances.backend()) {
        set req.backend_hint = tessera_via_shield_layout.backend();
    } elsif (req.backend_hint == tessera_nav_instances.backend()) {
        set req.backend_hint = tessera_via_shield_nav.backend();
    } elsif (req.backend_hint == tessera_article_instances.backend()) {
        set req.backend_hint = tessera_via_shield_article.backend();
    }
}

sub tessera_site_shield_bypass {
    if (bereq.backend == tessera_via_shield_layout.backend()) {
        set bereq.backend = tessera_layout_instances.backend();
        set bereq.http.X-Tessera-Shield-Bypass = "1";
    } elsif (bereq.backend == tessera_via_shield_nav.backend()) {
        set bereq.backend = tessera_nav_instances.backend();
        set bereq.http.X-Tessera-Shield-Bypass = "1";
    } elsif (bereq.backend == tessera_via_shield_article.backend()) {
        set bereq.backend = tessera_article_instances.backend();
        set bereq.http.X-Tessera-Shield-Bypass = "1";
    }
}
# The routes (topology/routes-vcl.ts): none (../tessera-routes.vcl).
include "tessera-routes.vcl";
