# What the cache does, per fragment and per page type, read from the real varnishd. Every request is tagged
# with what it asks for; each delivery and each origin fetch then logs one self-contained record, which the
# purge service reads with `varnishlog -g raw -i VCL_Log` (no transaction grouping: reading the log costs the
# edge next to nothing, where varnishncsa's grouping cost a warm page a quarter of its rate), as anyone can:
#   client side:   tessera-stats: <fragment|page|fallback> <name> <hit|grace|miss|pass> <status>
#   backend side:  tessera-stats: <fragment|page|fallback> <name> <fetch|bgfetch> <status> <ms to headers>
#   varnishlog -n DIR -g raw -i VCL_Log -q 'VCL_Log ~ "^tessera-stats: fragment nav"'
# A page's name is what its URL names (home, article, section, other); the purge service counts a page
# answered 404 as notFound. grace: served stale (obj.ttl < 0) while a background fetch refreshes it;
# pass: a hit-for-miss (the object was recently uncacheable).

sub tessera_stats_recv {
    # Called after routing: unknown fragments and PURGE requests have been answered already. Pages first.
    if (req.url !~ "^/fragments/") {
        call tessera_stats_page_recv;
    } elsif (req.url ~ "^/fragments/[a-z]+/_fallback") {
        set req.http.X-Tessera-Stats = "fallback " + regsub(req.url, "^/fragments/([a-z]+)/.*$", "\1");
    } else {
        set req.http.X-Tessera-Stats = "fragment " + regsub(req.url, "^/fragments/([a-z]+).*$", "\1");
    }
}

# A page's type, from its URL (also called by tier.vcl's short route for a page). (X-Tessera-Stats is written for
# every request, so a client's own copy never counts; the fetch reads it too.)
sub tessera_stats_page_recv {
    if (req.url ~ "^/articles/") {
        set req.http.X-Tessera-Stats = "page article";
    } elsif (req.url ~ "^/(\?|$)") {
        set req.http.X-Tessera-Stats = "page home";
    } elsif (req.url ~ "^/sections/") {
        set req.http.X-Tessera-Stats = "page section";
    } elsif (req.url ~ "^/hubs/") {
        set req.http.X-Tessera-Stats = "page hub";
    } else {
        set req.http.X-Tessera-Stats = "page other";
    }
}

sub tessera_stats_deliver {
    # The page tier (tier.vcl): the front logs the page, the inner each include its ESI pass inserts (its shell
    # and the look-ups before the ESI pass are not logged: varnishncsa does not show restarted requests). An
    # include the assembly's look-up fetched is a miss, as it would be without the tier.
    if (req.http.X-Tessera-Stats && !(local.socket == "inner" && req.esi_level == 0)) {
        if (req.is_hitmiss || req.is_hitpass) {
            std.log("tessera-stats: " + req.http.X-Tessera-Stats + " pass " + resp.status);
        } elsif (obj.hits == 0 || (local.socket == "inner" && req_top.http.X-Tessera-Asm-Start
                 && std.time2real(now - obj.age, 0.0) >= std.real(req_top.http.X-Tessera-Asm-Start, 0.0) - 0.001)) {
            std.log("tessera-stats: " + req.http.X-Tessera-Stats + " miss " + resp.status);
        } elsif (obj.ttl < 0s) {
            std.log("tessera-stats: " + req.http.X-Tessera-Stats + " grace " + resp.status);
        } else {
            call tessera_stats_hit_deliver;
        }
    }
}

# A fresh hit (also called by tier.vcl's short route, which knows it has one).
sub tessera_stats_hit_deliver {
    std.log("tessera-stats: " + req.http.X-Tessera-Stats + " hit " + resp.status);
}

sub tessera_stats_backend_fetch {
    if (bereq.http.X-Tessera-Stats) {
        # kept for vcl_backend_response / vcl_backend_error, which log the fetch with its answer
        if (bereq.is_bgfetch) {
            var.set("tessera_stats", bereq.http.X-Tessera-Stats + " bgfetch");
        } else {
            var.set("tessera_stats", bereq.http.X-Tessera-Stats + " fetch");
        }
        var.set_real("tessera_fetch_started", std.time2real(now, 0.0));
        unset bereq.http.X-Tessera-Stats;   # the origin has no use for it
    }
}

# First in vcl_backend_response and vcl_backend_error (later subs may return).
sub tessera_stats_backend_response {
    if (str.count(var.get("tessera_stats")) > 0) {
        std.log("tessera-stats: " + var.get("tessera_stats") + " " + beresp.status + " "
            + ((std.time2real(now, 0.0) - var.get_real("tessera_fetch_started")) * 1000.0));
    }
}
