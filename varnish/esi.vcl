# ESI only on page shells, which say so with the standard Surrogate-Control header, and only at the edge: the
# shield tier (shield.vcl) keeps the header for the edge, which assembles the page.

sub tessera_esi_backend_response {
    if (beresp.http.Surrogate-Control ~ {"content="ESI/1.0""} && local.socket != "shield") {
        unset beresp.http.Surrogate-Control;
        set beresp.do_esi = true;
        set beresp.http.X-Tessera-Esi = "1";   # the page tier needs to know (tier.vcl)
    }
}
