# A service may run as several instances (a round_robin director of backends with their own probes; see
# topology/site-vcl.ts). A fetch that fails on one instance (connection refused or reset, a timeout, a
# 5xx) is retried once, on another healthy instance of the same service (tessera_site_retry_pick chooses it:
# the first healthy one after the failed one). Only when that fails too, or no other instance is healthy, do
# the usual rules apply: a failed background or fresh-only fetch is abandoned (the stale copy stays), errors
# are never cached, a failed include becomes its fallback (policy.vcl, fallback.vcl, stale.vcl).
# (The choice is a task variable of the fetch: it lives across the retry, and nothing outside can set it.)

sub tessera_retry_backend_fetch {
    if (bereq.retries > 0 && str.count(var.get("tessera_retry_to")) > 0) {
        call tessera_site_retry_backend;
        std.log("tessera-retry: " + bereq.url + " on " + var.get("tessera_retry_to") + " after " + var.get("tessera_retry_from"));
    }
}

# First after the stats record in vcl_backend_response and vcl_backend_error (the failed attempt is an origin
# fetch like any other).
sub tessera_retry_backend_response {
    if (beresp.status >= 500 && bereq.retries == 0) {
        call tessera_retry_other_instance;
    }
}

sub tessera_retry_backend_error {
    if (bereq.retries == 0) {
        call tessera_retry_other_instance;
    }
}

sub tessera_retry_other_instance {
    call tessera_site_retry_pick;
    if (str.count(var.get("tessera_retry_to")) > 0) {
        var.set("tessera_retry_from", beresp.backend.name);
        return (retry);
    }
}
