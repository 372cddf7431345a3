# The test stand-in for the site VCL's late-bound includes (topology/site-vcl.ts renderLateIncludesVcl): none.
# The page tier's late-bound includes (TESSERA_PAGE_TIER_LATE_INCLUDES, varnish/tier.vcl): left out of a page
# copy, which keeps their tags for the front to resolve on each delivery.
sub tessera_site_page_tier_late_recv {
}

sub tessera_site_page_tier_late_drop {
}
