# ESI only on page shells, which say so with the standard Surrogate-Control header.

sub tessera_esi_backend_response {
    if (beresp.http.Surrogate-Control ~ {"content="ESI/1.0""}) {
        unset beresp.http.Surrogate-Control;
        set beresp.do_esi = true;
        set beresp.http.X-Tessera-Esi = "1";   # the page tier needs to know (tier.vcl)
    }
}
