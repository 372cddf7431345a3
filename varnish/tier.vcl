# The assembled-page tier: a warm page is one object lookup, not a shell plus one lookup per include.
#
# One varnishd listens twice. Readers use the front socket; the front sends page URLs (everything the layout
# serves) to the backend tessera_pages, which is this varnishd's own `inner` socket. The inner request does
# the ESI assembly from the fragment objects both sockets share, exactly as a page is assembled with the
# tier off; the front caches the assembled result under the page URL plus a marker (vcl_hash).
#
# Invalidation stays exact:
# 1. Before sending the page's headers the inner looks each include up once (the shell names them in
#    X-Tessera-Includes; each is a restart of the inner request to the include's URL): from those lookups it
#    knows the very objects the ESI pass will insert, and sends the union of their surrogate keys, plus
#    inc:<include URL>, with the page. The front object carries them, so a purge of any key or URL that hits
#    an include hits every assembled page showing it, and no other.
# 2. The same lookups give each include's remaining TTL and its stale windows: the page expires with the
#    first of them (scheduled-block clamps and ops overrides are already in the includes' TTLs), and keeps
#    the smallest stale-while-revalidate and stale-if-error windows. While an origin is healthy an assembly
#    only uses fresh includes (fetched synchronously if need be: whoever waits is a background refresh or a
#    cold page); an include that is stale, failing or uncacheable makes the page uncacheable at the front.
#    If the ESI pass then meets anything but the object it looked up (a fetch, a stale copy, an error), it
#    kills the page it is producing (xkey asm:<id>, and tessera_last_taint for a page not yet in the cache).
# 3. The front streams (do_stream), so its object is in the xkey index from the moment the inner's headers
#    arrive, before any include is inserted: a later purge finds it. A purge or a kill between the start of
#    the assembly and that moment is caught by comparing the assembly's start with the latest one.
# A failed re-assembly is abandoned (policy as for any refresh), so the good page stays and is served stale.
#
# Late-bound includes (TESSERA_PAGE_TIER_LATE_INCLUDES, exact URLs; the site VCL's tessera_site_page_tier_late_*):
# the assembly leaves them out of its look-ups (no keys, no inc:, no TTL or windows of theirs on the copy), and in
# its ESI pass each answers with its own tag (tessera_tier_synth), so the copy keeps the tag; the inner marks such
# a page (X-Tessera-Page-Late) and the front stores it with do_esi, so the front resolves those tags on every
# delivery as ordinary includes (fallback.vcl, stale.vcl, purge.vcl's second look apply as with the tier off).
# A purge of a late include's keys or URL then takes that include's object, not the pages showing it.

# ------------------------------------------------------------------------- front: the shortest route
# A reader's page is what the edge serves most, and a warm one is a single cached object: its VCL must cost
# next to nothing beside it (every statement and every header test counts at tens of thousands a second).
# These two subs are the whole route for a plain page read and a fresh page-tier hit; they do what the general
# subs would do for such a request, no more (each step names the sub it stands for), and leave everything else
# (restarts, queries, purges, the inner socket, debug views, misses and stale copies) to the general route.

# X-Tessera-Tier: page marks a reader's page at the front for the rest of the VCL (the hash, the fetch, the
# delivery). It is written or removed here for every request (tessera_site_page_tier_recv: written when the
# tier is on, TESSERA_PAGE_TIER), so a client's own copy never counts.
sub tessera_tier_front_recv {
    if (req.esi_level > 0 || local.socket == "inner" || req.method == "PURGE" || req.url ~ "^/fragments/"
        || var.get("tessera_route_tier") == "no") {   # (legacy.vcl: a legacy page that lists no includes, a pass)
        unset req.http.X-Tessera-Tier;   # (on the inner socket: the front's copy)
    } else {
        call tessera_site_page_tier_recv;
        if (req.http.X-Tessera-Tier == "page") {
            call tessera_normalize_plain_read_recv;   # normalize.vcl: a read the general route passes as it is
        }
    }
}

# The short route itself, for a page read normalize.vcl found plain (tessera_normalize_plain_read_recv).
sub tessera_tier_short_route_recv {
    call tessera_stats_page_recv;
    call tessera_site_page_tier_backend;
    return (hash);   # (request-id.vcl: the id is made when the page is fetched or delivered)
}

sub tessera_tier_front_deliver {
    # A fresh page-tier copy, not fetched for this request (purge.vcl's second look is for the request that
    # fetched it), with no debug token (headers.vcl): fallback.vcl and the inner's subs have nothing to do.
    if (req.http.X-Tessera-Tier == "page" && obj.hits > 0 && obj.ttl > 0s && resp.status < 500 && !req.http.X-Tessera-Debug) {
        call tessera_request_id_response;
        call tessera_stats_hit_deliver;
        call tessera_headers_page_copy_deliver;
        return (deliver);
    }
}

# ------------------------------------------------------------------------------- the general route

sub tessera_tier_recv {
    if (local.socket == "inner") {
        if (req.esi_level == 0) {
            if (req.restarts == 0) {
                if (var.get("tessera_inner_ok") != "1") {   # tessera_site_recv: the secret
                    return (synth(403, "The page tier's inner address is for the edge itself"));
                }
                unset req.http.X-Tessera-Asm-Bad;
                unset req.http.X-Tessera-Asm-Keys;
                unset req.http.X-Tessera-Asm-Body-Failed;
                unset req.http.X-Tessera-Asm-Failed;
                unset req.http.X-Tessera-Asm-Listed;
                unset req.http.X-Tessera-Asm-Late;
                set req.http.X-Tessera-Asm = "shell";
                set req.http.X-Tessera-Asm-Page = req.url;
                set req.http.X-Tessera-Asm-Start = "" + std.time2real(now, 0.0);
                set req.http.X-Tessera-Asm-Id = req.xid;
            }
        } else {
            call tessera_site_page_tier_late_recv;   # tessera_late: "1" for a late-bound include's URL
            if (var.get("tessera_late") == "1" && str.contains(req_top.http.X-Tessera-Asm-Listed, "|" + req.url + "|")) {
                return (synth(200, "Late-bound include"));   # its own tag (tessera_tier_synth), for the front
            }
            # (A late one the shell did not name is fetched, and kills the page as any unnamed include does: the
            # page is marked for the front's ESI pass from the names, tessera_tier_deliver.)
            var.set("tessera_late", "");
            if (req_top.http.X-Tessera-Asm-Failed && str.contains(req_top.http.X-Tessera-Asm-Failed, " " + req.url + " ")) {
                # It failed when the assembly looked it up a moment ago: its fallback now, not a second timeout.
                var.set("tessera_fallback_for", req.url);
                set req.url = regsub(req.url, "^/fragments/([a-z]+).*$", "/fragments/\1/_fallback");
            }
        }
    } elsif (req.http.X-Tessera-Tier == "page") {
        call tessera_site_page_tier_backend;   # after routing.vcl, which names the layout for every page
    }
}

# While its origin is healthy an assembly measures fresh objects only: a stale one is fetched again (stale.vcl
# serves the stale copy if that fetch fails, and the page is then not cached at the front).
sub tessera_tier_hit {
    if (local.socket == "inner" && req.esi_level == 0 && (req.http.X-Tessera-Asm == "shell" || req.http.X-Tessera-Asm == "include")
        && obj.ttl <= 0s && var.get("tessera_stale_ok") != "1" && std.healthy(req.backend_hint)) {
        var.set("tessera_fresh_only", "1");
        return (restart);
    }
}

sub tessera_tier_hash {
    if (req.http.X-Tessera-Tier == "page") {
        hash_data("tessera-page-tier");
    }
}

# ---------------------------------------------------------------------------------------- inner: assembly

sub tessera_tier_deliver {
    if (local.socket != "inner") {
        # the front: nothing to do here (a page hit costs this one comparison)
    } elsif (req.esi_level == 0 && req.http.X-Tessera-Asm == "shell") {
        if (resp.status >= 500) {
            set req.http.X-Tessera-Asm = "failed";   # the front gets the error: never cached, never replaces
        } else {
            call tessera_tier_check_measurable;
            call tessera_tier_measure;
            if (resp.http.X-Tessera-Esi && !resp.http.X-Tessera-Includes) {
                set req.http.X-Tessera-Asm-Bad = req.url + " has includes it does not name in X-Tessera-Includes";
            }
            set req.http.X-Tessera-Asm-Todo = resp.http.X-Tessera-Includes;
            if (resp.http.X-Tessera-Includes) {
                call tessera_site_page_tier_late_drop;   # late-bound includes are not looked up
                if (req.http.X-Tessera-Asm-Todo != resp.http.X-Tessera-Includes) {
                    set req.http.X-Tessera-Asm-Late = "1";
                }
            }
            # (delimited by "|": a header's leading spaces are not part of its value)
            set req.http.X-Tessera-Asm-Listed = "|" + regsuball(resp.http.X-Tessera-Includes, " +", "|") + "|";
            if (req.http.X-Tessera-Asm-Todo ~ "^ *([^ ]+ +){12}[^ ]") {
                # each look-up is a restart (max_restarts 24, two more per include whose fetch fails)
                set req.http.X-Tessera-Asm-Bad = req.url + " names more than 12 includes";
                set req.http.X-Tessera-Asm-Todo = "";
            }
            call tessera_tier_next;
        }
    } elsif (req.esi_level == 0 && req.http.X-Tessera-Asm == "include") {
        call tessera_tier_check_measurable;
        if (resp.status >= 500) {
            set req.http.X-Tessera-Asm-Failed = req.http.X-Tessera-Asm-Failed + " " + req.url + " ";
            if (req.url ~ "^/fragments/article/[a-z0-9-]+$") {
                set req.http.X-Tessera-Asm-Body-Failed = "1";
            }
        }
        call tessera_tier_measure;
        # One line per include (an object holds at most http_max_hdr, 64, header lines; one line at most
        # http_resp_hdr_len, 8 KB, at the front): this look-up's response is not delivered, so it can be folded.
        std.collect(resp.http.xkey, " ");
        if (str.count(resp.http.xkey) > 7000) {
            set req.http.X-Tessera-Asm-Bad = req.url + " carries " + str.count(resp.http.xkey) + " bytes of surrogate keys, over the page tier's 7000 per include";
        } else {
            header.append(req.http.X-Tessera-Asm-Keys, resp.http.xkey + " inc:" + regsuball(req.url, ",", "%2C"));
        }
        call tessera_tier_next;
    } elsif (req.esi_level == 0 && req.http.X-Tessera-Asm == "final") {
        if (req.http.X-Tessera-Asm-Body-Failed && !std.healthy(tessera_article_instances.backend())) {
            return (synth(503, "Temporarily unavailable"));   # the article body is required (fallback.vcl)
        }
        # The keys travel to the front in headers (at most http_resp_size, 32 KB, in all): a page whose includes
        # carry more than 12 KB of keys is assembled for each reader instead of failing.
        header.copy(req.http.X-Tessera-Asm-Keys, req.http.X-Tessera-Asm-Size);
        std.collect(req.http.X-Tessera-Asm-Size, " ");
        if (str.count(req.http.X-Tessera-Asm-Size) > 12000) {
            set req.http.X-Tessera-Asm-Bad = "its includes carry " + str.count(req.http.X-Tessera-Asm-Size) + " bytes of surrogate keys, over the page tier's 12000";
            unset req.http.X-Tessera-Asm-Keys;
        }
        unset req.http.X-Tessera-Asm-Size;
        set resp.http.X-Tessera-Page-Expires = req.http.X-Tessera-Asm-Expires;
        set resp.http.X-Tessera-Page-Swr = req.http.X-Tessera-Asm-Swr;
        set resp.http.X-Tessera-Page-Sie = req.http.X-Tessera-Asm-Sie;
        set resp.http.X-Tessera-Asm-Start = req.http.X-Tessera-Asm-Start;
        set resp.http.X-Tessera-Asm-Id = req.http.X-Tessera-Asm-Id;
        if (req.http.X-Tessera-Asm-Bad) {
            set resp.http.X-Tessera-Page-Uncacheable = req.http.X-Tessera-Asm-Bad;
        }
        if (req.http.X-Tessera-Asm-Late) {
            set resp.http.X-Tessera-Page-Late = "1";   # its late-bound includes' tags are in it, for the front
        }
        header.copy(req.http.X-Tessera-Asm-Keys, resp.http.X-Tessera-Page-Keys);
    } elsif (req.esi_level > 0 && req_top.http.X-Tessera-Asm == "final"
             && (obj.hits == 0 || obj.ttl <= 0s || resp.status >= 500 || req.is_hitmiss || req.is_hitpass
                 || !str.contains(req_top.http.X-Tessera-Asm-Listed, "|" + req.url + "|"))) {
        # Not the object the assembly measured (or an include the shell did not name, which a legacy page's route
        # may not list: legacy.vcl): the page being produced must not be cached. (A late-bound include is not
        # measured: it answers with its own tag from vcl_synth, which does not come here.)
        std.log("tessera-tier: " + req_top.http.X-Tessera-Asm-Page + " not cached, include " + req.url + " changed during its assembly");
        var.global_set("tessera_last_taint", "" + std.time2real(now, 0.0));
        set req.http.X-Tessera-Killed = xkey.purge("asm:" + req_top.http.X-Tessera-Asm-Id);
    }
}

# Only a fresh, cached object can be in a cached page.
sub tessera_tier_check_measurable {
    if (resp.status >= 500) {
        set req.http.X-Tessera-Asm-Bad = req.url + " answered " + resp.status;
    } elsif (req.is_hitmiss || req.is_hitpass || obj.uncacheable) {
        set req.http.X-Tessera-Asm-Bad = req.url + " is not cacheable";
    } elsif (obj.ttl <= 0s) {
        set req.http.X-Tessera-Asm-Bad = req.url + " is stale (its origin is failing)";
    }
}

# The shell or an include just looked up: the page expires with the first of them, keeps the smallest windows.
# (Times travel as strings of milliseconds, rounded: 1 ms off each expiry keeps the page on the safe side.)
sub tessera_tier_measure {
    if (!req.http.X-Tessera-Asm-Expires || std.real(req.http.X-Tessera-Asm-Expires, 0.0) > std.time2real(now + obj.ttl - 0.001s, 0.0)) {
        set req.http.X-Tessera-Asm-Expires = "" + std.time2real(now + obj.ttl - 0.001s, 0.0);
    }
    if (!resp.http.X-Tessera-Swr || !req.http.X-Tessera-Asm-Swr || std.real(req.http.X-Tessera-Asm-Swr, 0.0) > std.real(resp.http.X-Tessera-Swr, 0.0)) {
        set req.http.X-Tessera-Asm-Swr = "" + std.real(resp.http.X-Tessera-Swr, 0.0);
    }
    if (!resp.http.X-Tessera-Sie || !req.http.X-Tessera-Asm-Sie || std.real(req.http.X-Tessera-Asm-Sie, 0.0) > std.real(resp.http.X-Tessera-Sie, 0.0)) {
        set req.http.X-Tessera-Asm-Sie = "" + std.real(resp.http.X-Tessera-Sie, 0.0);
    }
}

# On to the next include to look up, or back to the page for the ESI pass.
sub tessera_tier_next {
    var.set("tessera_fresh_only", "");
    var.set("tessera_stale_ok", "");
    set req.http.X-Tessera-Asm-Todo = regsub(req.http.X-Tessera-Asm-Todo, "^ +", "");
    if (req.http.X-Tessera-Asm-Todo ~ "^/fragments/[^ ]*") {
        set req.url = regsub(req.http.X-Tessera-Asm-Todo, "^([^ ]+).*$", "\1");
        set req.http.X-Tessera-Asm-Todo = regsub(req.http.X-Tessera-Asm-Todo, "^[^ ]+", "");
        set req.http.X-Tessera-Asm = "include";
    } else {
        if (req.http.X-Tessera-Asm-Todo ~ "[^ ]") {
            set req.http.X-Tessera-Asm-Bad = "an include outside /fragments/: " + req.http.X-Tessera-Asm-Todo;
        }
        set req.url = req.http.X-Tessera-Asm-Page;
        set req.http.X-Tessera-Asm = "final";
    }
    return (restart);
}

# An include lookup answered by the edge itself (too many restarts, a refused URL): not measurable.
# A late-bound include in the ESI pass (tessera_tier_recv): its own tag, which the front resolves.
sub tessera_tier_synth {
    if (local.socket == "inner" && req.esi_level == 0 && req.http.X-Tessera-Asm == "include") {
        set req.http.X-Tessera-Asm-Bad = req.url + " was " + resp.status + " from the edge";
        call tessera_tier_next;
    } elsif (local.socket == "inner" && req.esi_level > 0 && var.get("tessera_late") == "1" && resp.status == 200) {
        set resp.http.Content-Type = "text/html; charset=utf-8";
        synthetic({"<esi:include src=""} + req.url + {""/>"});
        return (deliver);
    }
}

# --------------------------------------------------------------------------------------- front: the copy

sub tessera_tier_backend_fetch {
    # An assembly's state stays in the edge (origins have no use for it, and the keys can be long).
    call tessera_internal_assembly_bereq;   # internal-headers.vcl
    if (bereq.http.X-Tessera-Tier == "page") {
        call tessera_site_page_tier_fetch;   # the inner address's secret
        # The page plain from the inner, gzipped here in one pass (tessera_tier_backend_response): for a gzip
        # request the inner's ESI pass stitches each include's own gzip stream, which is larger on the wire
        # than one gzip of the same bytes (figures: bench/README.md).
        unset bereq.http.Accept-Encoding;
        unset bereq.http.X-Tessera-Stats;    # not an origin fetch: the inner logs the origin fetches it makes
    }
}

sub tessera_tier_backend_response {
    if (bereq.http.X-Tessera-Tier == "page") {
        if (beresp.status >= 500) {
            if (bereq.is_bgfetch || bereq.http.X-Tessera-Fresh-Only) {
                return (abandon);   # keep the good page (stale.vcl serves it)
            }
            set beresp.uncacheable = true;
            set beresp.ttl = 0s;
            return (deliver);
        }
        # One gzip of the whole page (the fetch asked the inner for it plain), stored so or sent so to a reader
        # of an uncacheable one; readers that do not accept gzip get it gunzipped on delivery, as any page.
        if (!beresp.http.Content-Encoding && beresp.http.Content-Type ~ "^(text/|application/(json|javascript))") {
            set beresp.do_gzip = true;
        }
        if (beresp.http.X-Tessera-Page-Late) {
            set beresp.do_esi = true;   # its late-bound includes' tags, resolved on each delivery
        }
        if (!beresp.http.X-Tessera-Page-Uncacheable) {
            call tessera_purge_in_progress;   # purge.vcl
            if (std.real(beresp.http.X-Tessera-Asm-Start, 0.0) <= std.real(var.global_get("tessera_last_purge"), 0.0)) {
                set beresp.http.X-Tessera-Page-Uncacheable = "a purge arrived during the assembly";
            } elsif (var.get("tessera_purging") == "1") {
                set beresp.http.X-Tessera-Page-Uncacheable = "a purge was running as the assembly ended";
            } elsif (std.real(beresp.http.X-Tessera-Asm-Start, 0.0) <= std.real(var.global_get("tessera_last_taint"), 0.0)) {
                set beresp.http.X-Tessera-Page-Uncacheable = "an include changed during an assembly";
            } elsif (std.real2time(std.real(beresp.http.X-Tessera-Page-Expires, 0.0), now) <= now) {
                set beresp.http.X-Tessera-Page-Uncacheable = "an include expired during the assembly";
            }
        }
        if (beresp.http.X-Tessera-Page-Uncacheable) {
            std.log("tessera-tier: not caching " + bereq.url + ": " + beresp.http.X-Tessera-Page-Uncacheable);
            if (bereq.is_bgfetch || bereq.http.X-Tessera-Fresh-Only) {
                return (abandon);
            }
            # (for the debug view; a kept copy has both in X-Tessera-Assembly)
            set beresp.http.X-Tessera-Tier = "page";
            set beresp.http.X-Tessera-Assembled-At = beresp.http.X-Tessera-Asm-Start;
            call tessera_tier_unset_transport;
            set beresp.uncacheable = true;
            set beresp.ttl = 0s;
            set beresp.grace = 0s;
            return (deliver);
        }
        set beresp.ttl = std.real2time(std.real(beresp.http.X-Tessera-Page-Expires, 0.0), now) - now;
        set beresp.grace = std.duration(beresp.http.X-Tessera-Page-Swr + "s", 0s);
        if (std.duration(beresp.http.X-Tessera-Page-Sie + "s", 0s) > beresp.grace) {
            set beresp.grace = std.duration(beresp.http.X-Tessera-Page-Sie + "s", 0s);
        }
        header.copy(beresp.http.X-Tessera-Page-Keys, beresp.http.xkey);
        header.append(beresp.http.xkey, "asm:" + beresp.http.X-Tessera-Asm-Id + " page-url:" + regsuball(bereq.url, ",", "%2C"));
        # What the rest of the VCL needs to know of a page-tier copy, in one header (every header of a warm page is
        # handled again on each of its deliveries): that it is one (headers.vcl, the purge service's bans),
        # its own key and the assembly's start (purge.vcl's second look), its stale-while-revalidate window
        # (stale.vcl) and its stale-if-error window (the debug view).
        set beresp.http.X-Tessera-Assembly = "asm:" + beresp.http.X-Tessera-Asm-Id + " checked=" + beresp.http.X-Tessera-Asm-Start
            + " swr=" + beresp.http.X-Tessera-Page-Swr + " sie=" + beresp.http.X-Tessera-Page-Sie;
        call tessera_tier_unset_transport;
        # A copy carries no x-url and no X-Tessera-Includes: its keys name its URL (page-url:) and its includes'
        # (inc:), which is what PURGE by URL and the purge service's bans use (pageTierExpression).
        unset beresp.http.x-url;
        unset beresp.http.X-Tessera-Includes;
        call tessera_headers_stored_revalidate;   # its deliveries have no browser policy to set
        # One xkey line (xkey reads keys separated by spaces): every header line of a warm page is copied and
        # removed again on each of its many deliveries (the page-tier bench: bench/README.md).
        std.collect(beresp.http.xkey, " ");
        return (deliver);
    }
}

sub tessera_tier_unset_transport {
    unset beresp.http.X-Tessera-Page-Keys;
    unset beresp.http.X-Tessera-Page-Late;
    unset beresp.http.X-Tessera-Page-Expires;
    unset beresp.http.X-Tessera-Page-Swr;
    unset beresp.http.X-Tessera-Page-Sie;
    unset beresp.http.X-Tessera-Asm-Start;
    unset beresp.http.X-Tessera-Asm-Id;
    unset beresp.http.Set-Cookie;
    unset beresp.http.Cache-Control;   # the shell's: the page's own policy is the one computed above
    # The shell's own details (a warm page is served many thousand times a second: every header it carries is
    # copied, logged and, for readers, removed again on each delivery).
    call tessera_internal_object_beresp;   # internal-headers.vcl
    unset beresp.http.X-Request-Id;
}
