# Cache policy. The origin states it the standard way:
#   Cache-Control: public, s-maxage=TTL, stale-while-revalidate=GRACE, stale-if-error=KEEP
# Varnish itself reads s-maxage (TTL) and stale-while-revalidate (grace); stale.vcl applies stale-if-error.
# Errors are never cached and never replace a good object.

sub tessera_policy_backend_response {
    # Lurker-friendly bans by URL (ban obj.http.x-url ~ ...) need the URL on the object.
    set beresp.http.x-url = bereq.url;
    if (beresp.http.X-Tessera-Expires-At) {
        # What it shows is scheduled to change at this moment (an editor block appearing or expiring):
        # s-maxage has whole seconds, this has milliseconds. beresp.ttl counts from now, so it expires then.
        set beresp.ttl = std.real2time(std.real(beresp.http.X-Tessera-Expires-At, 0.0), now) - now;
        unset beresp.http.X-Tessera-Expires-At;
    }

    if (beresp.status >= 500) {
        if (bereq.is_bgfetch || bereq.http.X-Tessera-Fresh-Only) {
            # A failed refresh would otherwise replace the stale-but-good object (see stale.vcl).
            return (abandon);
        }
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    # (A copy the shield tier vouched for was checked against this edge's purges already: shield.vcl.)
    if (beresp.http.X-Tessera-Checked-At && !beresp.http.X-Tessera-Shield-Vouch
        && std.real(beresp.http.X-Tessera-Checked-At, 0.0) <= std.real(var.global_get("tessera_last_purge"), 0.0)) {
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
    if (beresp.http.Cache-Control ~ "(?i)(no-store|no-cache|private)" || beresp.ttl <= 0s) {
        # Deliberately uncacheable (an origin that saw its content change under every read): a one-second
        # hit-for-miss, not the built-in two minutes without request coalescing.
        set beresp.uncacheable = true;
        set beresp.ttl = 1s;
        set beresp.grace = 0s;
        return (deliver);
    }
    if (beresp.http.X-Tessera-Checked-At) {
        # For purge.vcl's second look when this object is first delivered: its own key, and when it was checked.
        header.append(beresp.http.xkey, "fill:" + bereq.xid);
        set beresp.http.X-Tessera-Fill-Key = "fill:" + bereq.xid;
        set beresp.http.X-Tessera-Fill-Checked = beresp.http.X-Tessera-Checked-At;
    }
    # Cacheable for everyone: a stray cookie or a Vary on client headers must not split it or turn it into
    # hit-for-miss. Compression is the edge's business (below), so no Vary is needed either.
    unset beresp.http.Set-Cookie;
    unset beresp.http.Vary;
    # Stored compressed; readers that do not accept gzip get it gunzipped on delivery.
    if (beresp.http.Content-Type ~ "^(text/|application/(json|javascript))") {
        set beresp.do_gzip = true;
    }
}
