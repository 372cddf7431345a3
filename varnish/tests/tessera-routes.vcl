# No routes file in these tests: topology/routes-vcl.ts renders this sub empty then. The legacy tests put
# varnish/tests/legacy/ first on vcl_path, whose tessera-routes.vcl has the routes of legacy/routes.yaml.
sub tessera_routes_recv {
}
