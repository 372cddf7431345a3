# Cache policy. The origin states it the standard way:
#   Cache-Control: public, s-maxage=TTL, stale-while-revalidate=GRACE, stale-if-error=KEEP
# Varnish itself reads s-maxage (TTL) and stale-while-revalidate (grace); stale.vcl applies stale-if-error.
# Errors are never cached and never replace a good object.

sub tessera_policy_backend_response {
    # Lurker-friendly bans by URL (ban obj.http.x-url ~ ...) need the URL on the object.
    set beresp.http.x-url = bereq.url;

    if (beresp.status >= 500) {
        if (bereq.is_bgfetch || bereq.http.X-Tessera-Fresh-Only) {
            # A failed refresh would otherwise replace the stale-but-good object (see stale.vcl).
            return (abandon);
        }
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    if (beresp.http.X-Tessera-Checked-At && std.real(beresp.http.X-Tessera-Checked-At, 0.0) <= std.real(var.global_get("tessera_last_purge"), 0.0)) {
        # The origin read its content before the latest purge reached us: it may be what was just purged.
        # Deliver it to the readers waiting for it, but do not keep it (see purge.vcl).
        std.log("tessera-race: not caching " + bereq.url + ", checked at " + beresp.http.X-Tessera-Checked-At + " before purge at " + var.global_get("tessera_last_purge"));
        if (bereq.is_bgfetch) {
            return (abandon);
        }
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    if (beresp.ttl > 0s) {
        # Cacheable for everyone: a stray cookie must not turn it into hit-for-miss.
        unset beresp.http.Set-Cookie;
    }
}
