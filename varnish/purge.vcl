# PURGE by surrogate key, for the purge service only: its address must be in the ACL and it must send the secret.
#   PURGE / HTTP/1.1
#   X-Tessera-Purge-Secret: <secret>
#   xkey-purge: article:42 list:latest      (keys separated by spaces)
#   X-Tessera-Purge-Mode: soft               (optional; default hard)
# Answer: 200 with X-Purged-Count: N and a JSON body {"purged": N, "mode": "..."}.

sub tessera_purge_recv {
    if (req.method == "PURGE") {
        if (!req.http.X-Tessera-Purge-Ok) {
            return (synth(403, "Purge refused: not from the purge ACL with the purge secret"));
        }
        if (!req.http.xkey-purge || req.http.xkey-purge !~ "[^ ]") {
            return (synth(400, "PURGE needs an xkey-purge header listing surrogate keys"));
        }
        if (req.http.X-Tessera-Purge-Mode == "soft") {
            set req.http.X-Tessera-Purged = xkey.softpurge(req.http.xkey-purge);
        } else {
            set req.http.X-Tessera-Purge-Mode = "hard";
            set req.http.X-Tessera-Purged = xkey.purge(req.http.xkey-purge);
        }
        return (synth(200, "Purged"));
    }
}

sub tessera_purge_synth {
    if (req.method == "PURGE") {
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
