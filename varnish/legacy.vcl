# The legacy CMS (and small apps on their own ports) behind the edge, hardened (issue 16).
#
# Which route a URL is on comes from the routes file (TESSERA_ROUTES, default route TESSERA_LEGACY_ORIGIN):
# topology/routes-vcl.ts renders tessera_routes_recv into tessera-site.vcl, which chooses the backend and
# leaves the route's numbers in task variables (a client cannot send them):
#   tessera_route       "name=<n> kind=legacy|app cache=1|0 ttl=<s> swr=<s> sie=<s> includes=<url>,<url>"
#   tessera_route_pass  "1": a session cookie the route names (passCookies) is present
#   tessera_route_tier  "no": not for the page tier
# With no routes file every variable is empty and nothing here changes what the edge does.
#
# The rules, for every legacy or app route:
# - Cached by the origin's own headers: Surrogate-Control max-age first (it speaks to surrogates), then
#   Cache-Control s-maxage, max-age, Expires; where it says nothing, the route's TTL. stale-while-revalidate and
#   stale-if-error the same way (Surrogate-Control, then Cache-Control, then the route's: a day of
#   stale-if-error by default). stale.vcl serves the stale copy while the origin is slow, failing or sick.
# - Errors and timeouts are never cached and never replace a good copy (a failed refresh is abandoned).
# - One fetch for all waiting readers of a cold page (the waiting list: nothing here makes a cacheable page
#   hit-for-miss; an uncacheable answer is hit-for-miss for 1 s only).
# - A request with one of the route's session cookies, a write (POST, PUT...), or any request on a route with
#   cache: false goes to the origin uncached, with its cookies, and never sees or creates a shared copy.
#   A response with Set-Cookie is not cached (the reader who asked gets it; nobody else does). Other cookies are
#   removed from every fetch as for Tessera's own origins (normalize.vcl).
# - Surrogate keys: the origin's xkey header and a Fastly-style Surrogate-Key header (space-separated) both
#   become xkey keys, with route:<name>; PURGE by key or URL and bans (x-url) take them like any object.
# - ESI: an answer with Surrogate-Control: content="ESI/1.0" has its <esi:include src="/fragments/..."> resolved
#   from Tessera's fragments. A route that lists its pages' includes (includes: [...]) has them in the page tier
#   (tier.vcl) with its exact keys; an include a page does not list keeps that page out of the tier.

# ------------------------------------------------------------------------------------------ client side

# Last in vcl_recv: the routed requests that go to the origin uncached.
sub tessera_legacy_recv {
    if (str.count(var.get("tessera_route")) > 0) {
        if (var.get("tessera_route_pass") == "1" || (req.method != "GET" && req.method != "HEAD")
            || var.get("tessera_route") ~ " cache=0") {
            var.set("tessera_route_pass", "1");
            set req.http.X-Tessera-Route = var.get("tessera_route") + " pass=1";
            return (pass);
        }
    }
}

# A legacy or app route's objects are hashed with the route's name and kind: when a route moves (to Tessera, to an
# app), nothing its old origin answered is served for it, and the old copies simply expire.
sub tessera_legacy_hash {
    if (str.count(var.get("tessera_route")) > 0) {
        hash_data(regsub(var.get("tessera_route"), "^name=([^ ]+) kind=([^ ]+).*$", "route \1 \2"));
    }
}

# Before a fetch (default.vcl's tessera_fetch_context): the route travels to the backend side in a header that is
# written from the task variable or removed (a client's own is never read).
sub tessera_legacy_fetch_context {
    if (str.count(var.get("tessera_route")) > 0) {
        set req.http.X-Tessera-Route = var.get("tessera_route");
    } else {
        unset req.http.X-Tessera-Route;
    }
}

# After delivery headers (headers.vcl): a personal answer must not be kept by a shared cache on the way.
sub tessera_legacy_deliver {
    if (req.esi_level == 0 && (var.get("tessera_route_pass") == "1" || resp.http.Set-Cookie)) {
        set resp.http.Cache-Control = "private, no-store";
    }
}

# ----------------------------------------------------------------------------------------- backend side

# First in vcl_backend_fetch: the route, for this fetch only (the origin never sees the header).
sub tessera_legacy_backend_fetch {
    if (bereq.http.X-Tessera-Route) {
        if (bereq.http.X-Tessera-Tier != "page") {   # (the front's fetch of an assembled page: tier.vcl's)
            var.set("tessera_route", bereq.http.X-Tessera-Route);
            var.set_real("tessera_route_started", std.time2real(now, 0.0));
        }
        unset bereq.http.X-Tessera-Route;
    }
}

sub tessera_legacy_backend_response {
    if (str.count(var.get("tessera_route")) > 0) {
        # Lurker-friendly bans by URL (ban obj.http.x-url ~ ...), as for every object.
        set beresp.http.x-url = bereq.url;
        var.set("tessera_legacy_sc", beresp.http.Surrogate-Control);
        unset beresp.http.Surrogate-Control;   # for us, not for browsers
        call tessera_legacy_keys;
        call tessera_legacy_esi;
        if (var.get("tessera_route") ~ " pass=1$") {
            return (deliver);   # a pass: never stored
        }
        if (beresp.status >= 500) {
            if (bereq.is_bgfetch || bereq.http.X-Tessera-Fresh-Only) {
                return (abandon);   # the good copy stays (stale.vcl serves it)
            }
            set beresp.uncacheable = true;
            set beresp.ttl = 0s;
            return (deliver);
        }
        if (beresp.http.Set-Cookie) {
            std.log("tessera-legacy: not caching " + bereq.url + ": it sets a cookie");
            if (bereq.is_bgfetch || bereq.http.X-Tessera-Fresh-Only) {
                return (abandon);
            }
            call tessera_legacy_uncacheable;
            return (deliver);
        }
        if (beresp.http.Cache-Control ~ "(?i)(no-store|no-cache|private)" || var.get("tessera_legacy_sc") ~ "(?i)no-store") {
            call tessera_legacy_uncacheable;
            return (deliver);
        }
        call tessera_legacy_ttl;
        if (beresp.ttl <= 0s) {
            call tessera_legacy_uncacheable;   # max-age=0, or a status that is not cached (302, 403...)
            return (deliver);
        }
        call tessera_legacy_windows;
        call tessera_legacy_race;
        # One copy per URL, for everyone (the cache key is the URL: headers.vcl, normalize.vcl).
        unset beresp.http.Vary;
        if (beresp.http.Content-Type ~ "^(text/|application/(json|javascript))") {
            set beresp.do_gzip = true;
        }
        return (deliver);
    }
}

# Deliberately uncacheable: a one-second hit-for-miss (policy.vcl's), not the built-in two minutes without
# coalescing.
sub tessera_legacy_uncacheable {
    set beresp.uncacheable = true;
    set beresp.ttl = 1s;
    set beresp.grace = 0s;
}

sub tessera_legacy_keys {
    if (beresp.http.Surrogate-Key) {
        std.collect(beresp.http.Surrogate-Key, " ");
        header.append(beresp.http.xkey, beresp.http.Surrogate-Key);
        unset beresp.http.Surrogate-Key;
    }
    header.append(beresp.http.xkey, "route:" + regsub(var.get("tessera_route"), "^name=([^ ]+).*$", "\1"));
}

sub tessera_legacy_esi {
    if (var.get("tessera_legacy_sc") ~ {"content="ESI/1.0""}) {
        set beresp.do_esi = true;
        set beresp.http.X-Tessera-Esi = "1";
        if (var.get("tessera_route") ~ " includes=") {
            # What the route says its pages may include: the page tier measures exactly these (tier.vcl).
            set beresp.http.X-Tessera-Includes = regsuball(regsub(var.get("tessera_route"), "^.* includes=([^ ]+).*$", "\1"), ",", " ");
        }
    }
}

# The TTL: Surrogate-Control max-age, else what Varnish read from Cache-Control (s-maxage, max-age) or Expires,
# else the route's. (A status Varnish does not cache has a negative TTL and stays so.)
sub tessera_legacy_ttl {
    if (beresp.ttl >= 0s && var.get("tessera_legacy_sc") ~ "(?i)(^|[ ,])max-age=[0-9]+") {
        set beresp.ttl = std.duration(regsub(var.get("tessera_legacy_sc"), "(?i)^(.*[ ,])?max-age=([0-9]+).*$", "\2s"), 0s);
    } elsif (beresp.ttl > 0s && beresp.http.Cache-Control !~ "(?i)(s-maxage|max-age)=" && !beresp.http.Expires) {
        set beresp.ttl = std.duration(regsub(var.get("tessera_route"), "^.* ttl=([0-9]+).*$", "\1s"), 120s);
    }
}

# The two stale windows (stale.vcl's meaning): X-Tessera-Swr is how long a stale copy is served while it is
# refreshed in the background; X-Tessera-Sie how long while the origin fails; grace covers the larger.
sub tessera_legacy_windows {
    if (var.get("tessera_legacy_sc") ~ "(?i)stale-while-revalidate=[0-9]+") {
        set beresp.grace = std.duration(regsub(var.get("tessera_legacy_sc"), "(?i)^.*stale-while-revalidate=([0-9]+).*$", "\1s"), 0s);
    } elsif (beresp.http.Cache-Control !~ "(?i)stale-while-revalidate=[0-9]+") {
        set beresp.grace = std.duration(regsub(var.get("tessera_route"), "^.* swr=([0-9]+).*$", "\1s"), 0s);
    }
    set beresp.http.X-Tessera-Swr = beresp.grace;
    if (var.get("tessera_legacy_sc") ~ "(?i)stale-if-error=[0-9]+") {
        set beresp.http.X-Tessera-Sie = std.duration(regsub(var.get("tessera_legacy_sc"), "(?i)^.*stale-if-error=([0-9]+).*$", "\1s"), 0s);
    } elsif (beresp.http.Cache-Control ~ "(?i)stale-if-error=[0-9]+") {
        set beresp.http.X-Tessera-Sie = std.duration(regsub(beresp.http.Cache-Control, "(?i)^.*stale-if-error=([0-9]+).*$", "\1s"), 0s);
    } else {
        set beresp.http.X-Tessera-Sie = std.duration(regsub(var.get("tessera_route"), "^.* sie=([0-9]+).*$", "\1s"), 0s);
    }
    if (std.duration(beresp.http.X-Tessera-Sie + "s", 0s) > beresp.grace) {
        set beresp.grace = std.duration(beresp.http.X-Tessera-Sie + "s", 0s);
    }
}

# A purge racing the fill (purge.vcl): the legacy says nothing of when it read its content, so the fetch's start
# stands for it. A purge since then: delivered, not kept; otherwise purge.vcl's second look covers the gap
# until the object is in xkey's index.
sub tessera_legacy_race {
    if (var.get_real("tessera_route_started") <= std.real(var.global_get("tessera_last_purge"), 0.0)) {
        std.log("tessera-race: not caching " + bereq.url + ", fetched from " + var.get_real("tessera_route_started") + " before purge at " + var.global_get("tessera_last_purge"));
        if (bereq.is_bgfetch) {
            return (abandon);
        }
        set beresp.uncacheable = true;
        set beresp.ttl = 0s;
        return (deliver);
    }
    header.append(beresp.http.xkey, "fill:" + bereq.xid);
    set beresp.http.X-Tessera-Fill-Key = "fill:" + bereq.xid;
    set beresp.http.X-Tessera-Fill-Checked = "" + var.get_real("tessera_route_started");
}
