# Which service answers a URL. Backends are declared in tessera-site.vcl (generated from the config).

sub tessera_routing_recv {
    if (req.url !~ "^/(fragments/|metrics(\?|$))") {
        set req.backend_hint = tessera_layout;   # pages, the common case: one test
    } elsif (req.url ~ "^/metrics(\?|$)") {
        # every service's Prometheus metrics are for the operators' network, not for readers
        return (synth(404, "Not found"));
    } elsif (req.url ~ "^/fragments/nav(/_fallback)?(\?|$)") {
        set req.backend_hint = tessera_nav;
    } elsif (req.url ~ "^/fragments/sidebar(/|\?|$)") {
        set req.backend_hint = tessera_sidebar;
    } elsif (req.url ~ "^/fragments/article/") {
        set req.backend_hint = tessera_article;
    } elsif (req.url ~ "^/fragments/sections/") {
        set req.backend_hint = tessera_sections;
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
