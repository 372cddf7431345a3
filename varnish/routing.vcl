# Which service answers a URL: the director of its instances, declared in tessera-site.vcl (generated from the
# topology; topology/site-vcl.ts).

sub tessera_routing_recv {
    if (req.url !~ "^/(fragments/|metrics(\?|$))") {
        if (str.count(var.get("tessera_route")) <= 0) {
            set req.backend_hint = tessera_layout_instances.backend();   # pages, the common case (unset: NULL, counted -1)
        }   # (else a legacy or app route: tessera_routes_recv chose its backend)
    } elsif (req.url ~ "^/metrics(\?|$)") {
        # every service's Prometheus metrics are for the operators' network, not for readers
        return (synth(404, "Not found"));
    } elsif (req.url ~ "^/fragments/nav(/_fallback)?(\?|$)") {
        set req.backend_hint = tessera_nav_instances.backend();
    } elsif (req.url ~ "^/fragments/sidebar(/|\?|$)") {
        set req.backend_hint = tessera_sidebar_instances.backend();
    } elsif (req.url ~ "^/fragments/article/") {
        set req.backend_hint = tessera_article_instances.backend();
    } elsif (req.url ~ "^/fragments/sections/") {
        set req.backend_hint = tessera_sections_instances.backend();
    } else {
        return (synth(404, "No such fragment"));
    }
}

sub tessera_routing_backend_fetch {
    # Secrets and tokens stay at the edge (ESI sub-requests carry a copy of the client's headers).
    unset bereq.http.X-Tessera-Purge-Secret;
    unset bereq.http.X-Tessera-Debug;
    unset bereq.http.X-Tessera-Inner-Secret;
}
