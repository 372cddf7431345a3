# What leaves the edge. Browsers revalidate every time (a purge at the edge must reach readers at once);
# internal headers (keys, policy, debug) only go to requests carrying the debug token.

sub tessera_headers_deliver {
    # (The inner socket answers the front, which needs the keys and the policy: tier.vcl.)
    if (req.esi_level == 0 && req.method != "PURGE" && local.socket != "inner") {
        if (var.get("tessera_debug_ok") == "1") {
            # miss: fetched for this request; grace: a stale copy (TTL run out) while a fresh one is fetched
            if (obj.hits == 0) {
                set resp.http.X-Tessera-Cache = "miss";
            } elsif (obj.ttl < 0s) {
                set resp.http.X-Tessera-Cache = "grace";
            } else {
                set resp.http.X-Tessera-Cache = "hit";
            }
            set resp.http.X-Tessera-Hits = obj.hits;
            set resp.http.X-Tessera-TTL-Left = obj.ttl;
            set resp.http.X-Tessera-Grace = resp.http.X-Tessera-Swr;
            set resp.http.X-Tessera-Keep = resp.http.X-Tessera-Sie;
            set resp.http.X-Tessera-Origin-Cache-Control = resp.http.Cache-Control;
            std.collect(resp.http.xkey, " ");   # every key on one line (an assembled page has many lines)
            if (resp.http.X-Tessera-Assembly) {
                # a page-tier copy (tier.vcl): "asm:<id> checked=<ms> swr=<s> sie=<s>"
                set resp.http.X-Tessera-Tier = "page";
                set resp.http.X-Tessera-Assembled-At = regsub(resp.http.X-Tessera-Assembly, "^.* checked=([0-9.]+).*$", "\1");
                set resp.http.X-Tessera-Grace = regsub(resp.http.X-Tessera-Assembly, "^.* swr=([0-9.]+).*$", "\1");
                set resp.http.X-Tessera-Keep = regsub(resp.http.X-Tessera-Assembly, "^.* sie=([0-9.]+).*$", "\1");
            }
            call tessera_headers_revalidate;
        } elsif (resp.http.X-Tessera-Assembly) {
            call tessera_headers_page_copy_deliver;
        } else {
            call tessera_internal_object_resp;   # internal-headers.vcl: the object's own
            unset resp.http.xkey;
            unset resp.http.x-url;
            unset resp.http.X-Tessera-Fragment;
            unset resp.http.X-Tessera-Fallback;
            unset resp.http.X-Tessera-Tier;
            unset resp.http.X-Tessera-Includes;
            unset resp.http.X-Tessera-Assembled-At;
            unset resp.http.X-Tessera-Page-Uncacheable;
            call tessera_headers_revalidate;
        }
    }
}

sub tessera_headers_revalidate {
    set resp.http.Cache-Control = "public, max-age=0, must-revalidate";
}

# A page-tier copy (tier.vcl) is stored with the browser policy already in place.
sub tessera_headers_stored_revalidate {
    set beresp.http.Cache-Control = "public, max-age=0, must-revalidate";
}

# A cached page-tier copy (tier.vcl), the hottest delivery there is: it carries exactly these internal headers
# (tier.vcl keeps nothing else of its parts, each unset scans every header) and its browser policy.
sub tessera_headers_page_copy_deliver {
    unset resp.http.xkey;
    unset resp.http.X-Tessera-Assembly;
    unset resp.http.X-Varnish;
    unset resp.http.Via;
}

sub tessera_headers_synth {
    # The edge's own answers (405, 400, 403, 503 pages) carry no internal headers either.
    if (var.get("tessera_debug_ok") != "1") {
        unset resp.http.X-Varnish;
        unset resp.http.Via;
    }
}
