# The test stand-in for the site VCL's late-bound includes (topology/site-vcl.ts renderLateIncludesVcl): /fragments/nav.
# The page tier's late-bound includes (TESSERA_PAGE_TIER_LATE_INCLUDES, varnish/tier.vcl): left out of a page
# copy, which keeps their tags for the front to resolve on each delivery.
sub tessera_site_page_tier_late_recv {
    if (req.url == "/fragments/nav") {
        var.set("tessera_late", "1");
    }
}

sub tessera_site_page_tier_late_drop {
    set req.http.X-Tessera-Asm-Todo = regsuball(req.http.X-Tessera-Asm-Todo, "(?<![^ ])(/fragments/nav)(?![^ ])", "");
}
