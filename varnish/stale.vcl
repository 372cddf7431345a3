# Stale content, deliberately. The origin states two windows:
#   stale-while-revalidate=GRACE  serve a stale copy for up to GRACE while a fresh one is fetched in the background
#   stale-if-error=KEEP           serve a stale copy for up to KEEP while the origin is down, sick or failing
# Varnish keeps an object servable for ttl + beresp.grace, so beresp.grace becomes the larger window and the
# GRACE window is kept on the object (X-Tessera-Swr) for vcl_hit: past it, a healthy origin is asked
# synchronously (one fetch for all waiting readers); a sick one is not, and readers keep the stale copy.
# 7.1's vcl_hit cannot return (miss): a restart with req.grace = 0s does the same.

# (Fresh-only and stale-ok are task variables, which live as long as the request, restarts included, and which a
# client cannot send; the fetch learns of fresh-only from tessera_stale_fetch_context.)
sub tessera_stale_recv {
    if (var.get("tessera_fresh_only") == "1") {
        set req.grace = 0s;
    } elsif (req.restarts > 0) {
        # req.grace survives a restart, and cannot be unset: an upper limit no object reaches restores the
        # object's own grace for the passes after a fresh-only one.
        set req.grace = 3650d;
    }
}

sub tessera_stale_hit {
    # (A page-tier copy keeps its window in X-Tessera-Assembly, tier.vcl.)
    if (obj.ttl < 0s && var.get("tessera_stale_ok") != "1" && std.healthy(req.backend_hint)
        && obj.ttl + std.duration(obj.http.X-Tessera-Swr + "s",
                                  std.duration(regsub(obj.http.X-Tessera-Assembly, "^.* swr=([0-9.]+).*$", "\1s"), 0s)) <= 0s) {
        var.set("tessera_fresh_only", "1");
        return (restart);
    }
}

# Before a fetch (vcl_miss, and vcl_hit for a background refresh): policy.vcl and fallback.vcl abandon a failed
# fresh-only fetch, so the stale copy survives.
sub tessera_stale_fetch_context {
    if (var.get("tessera_fresh_only") == "1") {
        set req.http.X-Tessera-Fresh-Only = "1";
    } else {
        unset req.http.X-Tessera-Fresh-Only;   # (a client's)
    }
}

sub tessera_stale_backend_response {
    set beresp.http.X-Tessera-Swr = beresp.grace;
    if (beresp.http.Cache-Control ~ "stale-if-error=[0-9]+") {
        set beresp.http.X-Tessera-Sie = std.duration(regsub(beresp.http.Cache-Control, "^.*stale-if-error=([0-9]+).*$", "\1s"), 0s);
        if (std.duration(beresp.http.X-Tessera-Sie + "s", 0s) > beresp.grace) {
            set beresp.grace = std.duration(beresp.http.X-Tessera-Sie + "s", 0s);
        }
    }
}

# The synchronous fetch past the GRACE window failed (policy.vcl abandoned it, so the stale copy is still
# there): serve the stale copy (stale-if-error) rather than the error, until the probe notices the origin is down.
sub tessera_stale_synth {
    if (resp.status >= 500 && var.get("tessera_fresh_only") == "1") {
        var.set("tessera_fresh_only", "");
        var.set("tessera_stale_ok", "1");
        return (restart);
    }
}
