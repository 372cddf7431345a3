# Purges, for the purge service only: its address must be in the ACL and it must send the secret.
#
# By surrogate key:
#   PURGE / HTTP/1.1
#   X-Tessera-Purge-Secret: <secret>
#   xkey-purge: article:42 list:latest      (keys separated by spaces)
#   X-Tessera-Purge-Mode: soft               (optional; default hard)
# By URL (what keys cannot express):
#   PURGE /articles/some-slug HTTP/1.1       (no xkey-purge header; same secret and mode headers)
#   With the page tier (tier.vcl) a URL purge also takes the assembled copy of a page URL (page-url:<URL>) and
#   every assembled page that includes a fragment URL (inc:<URL>).
# Answer: 200 with X-Purged-Count: N and a JSON body {"purged": N, "mode": "..."}.
#
# A fill racing a purge: xkey cannot see an object still being fetched, so a fill that read the origin
# before a change could land after the purge. Every purge records its time (tessera_last_purge);
# policy.vcl refuses to cache a response whose origin checked its content before that time
# (X-Tessera-Checked-At, written by the origin after it re-checked its keys' purge times in Redis).
# Through the shield tier the guard is the shield's vouch instead (shield.vcl): the send time of the latest purge
# the shield had had, against the latest this node has had (tessera_last_purge_sent).

sub tessera_purge_recv {
    if (req.method == "PURGE") {
        if (var.get("tessera_purge_ok") != "1") {   # tessera_site_recv: the ACL and the secret
            return (synth(403, "Purge refused: not from the purge ACL with the purge secret"));
        }
        if (req.http.X-Tessera-Purge-Mode != "soft") {
            set req.http.X-Tessera-Purge-Mode = "hard";
        }
        if (std.time2real(now, 0.0) > std.real(var.global_get("tessera_last_purge"), 0.0)) {
            var.global_set("tessera_last_purge", "" + std.time2real(now, 0.0));
        }
        var.global_set("tessera_purge_begun", "" + std.time2real(now, 0.0));   # (tessera_purge_in_progress)
        # The shield tier's race guard (shield.vcl) counts in the purge service's send times (X-Tessera-Purge-Sent-At,
        # the same for every node a purge goes to); a purge without one counts as sent now.
        var.set_real("tessera_purge_sent", std.real(req.http.X-Tessera-Purge-Sent-At, std.time2real(now, 0.0)));
        if (var.get_real("tessera_purge_sent") > std.real(var.global_get("tessera_last_purge_sent"), 0.0)) {
            var.global_set("tessera_last_purge_sent", "" + var.get_real("tessera_purge_sent"));
        }
        if (!req.http.xkey-purge) {
            # by URL: looked up like a read, purged in vcl_hit / vcl_miss
            if (req.http.X-Tessera-Purge-Mode == "soft") {
                set req.http.X-Tessera-Purged-Pages = xkey.softpurge("page-url:" + regsuball(req.url, ",", "%2C") + " inc:" + regsuball(req.url, ",", "%2C"));
            } else {
                set req.http.X-Tessera-Purged-Pages = xkey.purge("page-url:" + regsuball(req.url, ",", "%2C") + " inc:" + regsuball(req.url, ",", "%2C"));
            }
            return (hash);
        }
        if (req.http.xkey-purge !~ "[^ ]") {
            return (synth(400, "PURGE needs an xkey-purge header listing surrogate keys, or a URL"));
        }
        if (req.http.X-Tessera-Purge-Mode == "soft") {
            set req.http.X-Tessera-Purged = xkey.softpurge(req.http.xkey-purge);
        } else {
            set req.http.X-Tessera-Purged = xkey.purge(req.http.xkey-purge);
        }
        return (synth(200, "Purged"));
    }
}

sub tessera_purge_hit_or_miss {
    if (req.method == "PURGE") {
        if (req.http.X-Tessera-Purge-Mode == "soft") {
            set req.http.X-Tessera-Purged = purge.soft(0s) + std.integer(req.http.X-Tessera-Purged-Pages, 0);
        } else {
            set req.http.X-Tessera-Purged = purge.hard() + std.integer(req.http.X-Tessera-Purged-Pages, 0);
        }
        return (synth(200, "Purged"));
    }
}

# The race's last gap: policy.vcl (and tier.vcl for pages) read the latest purge time before varnishd puts the
# new object in xkey's index, so a purge landing between the two finds nothing. The request that fetched the
# object is delivered only once it is in the index: if a purge came after the object's content was checked,
# the object is removed (its own fill:/asm: key) and the request starts over, once: its second fetch starts
# after every purge acknowledged before the request began, so once is enough (and a storm of unrelated purges
# cannot keep a reader going round). A purge unrelated to the object costs it one more fetch; a background
# refresh has no such request, so it keeps the small gap.
sub tessera_purge_deliver {
    if (obj.hits == 0 && !obj.uncacheable && obj.ttl > 0s) {
        var.set("tessera_fill_key", "");   # (task variables outlive a restart)
        var.set("tessera_fill_stale", "");
        if (resp.http.X-Tessera-Fill-Key) {
            var.set("tessera_fill_key", resp.http.X-Tessera-Fill-Key);
            var.set("tessera_fill_checked", resp.http.X-Tessera-Fill-Checked);
            if (resp.http.X-Tessera-Shield-Vouch) {
                # from the shield tier (shield.vcl): its vouch against the latest purge's send time
                var.set("tessera_fill_checked", "");
                if (std.real(resp.http.X-Tessera-Shield-Vouch, 0.0) < std.real(var.global_get("tessera_last_purge_sent"), 0.0)) {
                    var.set("tessera_fill_stale", "1");
                }
            }
        } elsif (resp.http.X-Tessera-Assembly) {
            # an assembled page (tier.vcl): "asm:<id> checked=<ms> swr=<s> sie=<s>"
            var.set("tessera_fill_key", regsub(resp.http.X-Tessera-Assembly, "^(asm:[0-9]+) .*$", "\1"));
            var.set("tessera_fill_checked", regsub(resp.http.X-Tessera-Assembly, "^.* checked=([0-9.]+).*$", "\1"));
        }
        if (str.count(var.get("tessera_fill_key")) > 0) {
            call tessera_purge_in_progress;   # (only for an object that has a fill key to remove)
        }
        if (str.count(var.get("tessera_fill_key")) > 0
            && (var.get("tessera_fill_stale") == "1" || var.get("tessera_purging") == "1"
                || (str.count(var.get("tessera_fill_checked")) > 0
                    && (std.real(var.get("tessera_fill_checked"), 0.0) <= std.real(var.global_get("tessera_last_purge"), 0.0)
                        || std.real(var.get("tessera_fill_checked"), 0.0) <= std.real(var.global_get("tessera_last_taint"), 0.0))))) {
            std.log("tessera-race: " + req.url + " entered the cache as a purge arrived: removed (" + xkey.purge(var.get("tessera_fill_key")) + ")");
            if (var.get("tessera_refetched") != "1") {
                var.set("tessera_refetched", "1");
                return (restart);
            }
        }
    }
}

# Whether a purge is running now (begun in vcl_recv, not yet at vcl_synth): an object that enters the cache
# meanwhile may have been looked up before the purge removed what it shows and be inserted after the purge went
# past its keys, which neither time comparison sees. Sets the task variable tessera_purging to "1" or "".
# (A purge that never reaches vcl_synth counts as running for one second at most.)
sub tessera_purge_in_progress {
    var.set("tessera_purging", "");
    if (std.real(var.global_get("tessera_purge_begun"), 0.0) > std.real(var.global_get("tessera_purge_done"), 0.0)
        && std.real(var.global_get("tessera_purge_begun"), 0.0) > std.time2real(now - 1s, 0.0)) {
        var.set("tessera_purging", "1");
    }
}

sub tessera_purge_synth {
    if (req.method == "PURGE") {
        # `now` is fixed for the whole of vcl_recv, so the time written there is the purge's start: an assembly
        # that began while xkey was still removing objects (tier.vcl) could have looked up a purged include and
        # still pass "started after the latest purge". vcl_synth runs with a new `now`, after the removal:
        # the latest purge's time is moved on to it (never back: another purge may have ended later).
        if (resp.status == 200 && std.time2real(now, 0.0) > std.real(var.global_get("tessera_last_purge"), 0.0)) {
            var.global_set("tessera_last_purge", "" + std.time2real(now, 0.0));
        }
        var.global_set("tessera_purge_done", "" + std.time2real(now, 0.0));
        set resp.http.Content-Type = "application/json";
        set resp.http.Cache-Control = "no-store";
        if (resp.status == 200) {
            set resp.http.X-Purged-Count = req.http.X-Tessera-Purged;
            synthetic({"{"purged": "} + req.http.X-Tessera-Purged + {", "mode": ""} + req.http.X-Tessera-Purge-Mode + {"""} + "}");
        } else {
            synthetic({"{"error": {"code": "TESSERA_PURGE_REFUSED", "message": ""} + resp.reason + {"""} + "}}");
        }
        return (deliver);
    }
}
