# One request id per page, shared by its fragment fetches: the services use X-Request-Id as their log's reqId,
# so a page's id finds its shell and every include in the pino logs.
# - At esi_level 0 a well-formed X-Request-Id from the client (or a proxy in front) is kept; otherwise the id
#   is varnishd's own transaction id (req.xid, also the vxid that varnishlog shows).
# - ESI sub-requests get a copy of the client's ORIGINAL headers (what vcl_recv set at level 0 is not passed
#   on), so they take the id from the top request (req_top).
# - Readers get it back on every page (the origin's own header on a cached object would name its first reader).
# - tier.vcl's short route for a page read does not make it in vcl_recv: it is made when the page is fetched
#   (default.vcl's tessera_fetch_context calls tessera_request_id_recv) or delivered, the same id either way; a
#   copy delivered with includes to resolve (tier.vcl's late-bound ones) hands it to them on delivery.

sub tessera_request_id_recv {
    if (req.esi_level > 0) {
        set req.http.X-Request-Id = req_top.http.X-Request-Id;
    } elsif (req.http.X-Request-Id !~ "^[A-Za-z0-9._:-]{1,128}$") {
        set req.http.X-Request-Id = req.xid;
    }
}

sub tessera_request_id_response {
    if (req.esi_level == 0) {
        if (!req.http.X-Request-Id || req.http.X-Request-Id !~ "^[A-Za-z0-9._:-]{1,128}$") {
            set resp.http.X-Request-Id = req.xid;   # (the common case: no id from the client, nothing to match)
            if (resp.do_esi) {
                set req.http.X-Request-Id = req.xid;   # for its includes (req_top): a page-tier copy's late-bound ones
            }
        } else {
            set resp.http.X-Request-Id = req.http.X-Request-Id;
        }
    }
}
