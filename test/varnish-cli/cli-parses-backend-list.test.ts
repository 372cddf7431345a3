import t from 'tap'

import { parseBackendListJson, VarnishCli } from '../../varnish-cli/varnish-cli.js'
import { startTestVarnish } from './helpers.js'

// `probed` has a probe that can never succeed (port 9 refuses) and starts sick (.initial = 0).
const VCL = `vcl 4.1;
backend plain { .host = "127.0.0.1"; .port = "9"; }
backend probed {
  .host = "127.0.0.1"; .port = "9";
  .probe = { .url = "/"; .interval = 1s; .window = 3; .threshold = 2; .initial = 0; }
}
sub vcl_recv { if (req.url == "/p") { set req.backend_hint = probed; } else { set req.backend_hint = plain; } }
`
const v = await startTestVarnish(t, { vcl: VCL })
const cli = await VarnishCli.connect({ host: '127.0.0.1', port: v.adminPort, secret: v.secret })
t.teardown(() => cli.close())

t.test('backend.list -j is parsed into name, admin, probe and effective health', async (t) => {
  const before = Date.now()
  const list = await cli.backendList()
  t.same(list.map((b) => b.name).sort(), ['boot.plain', 'boot.probed'])
  const plain = list.find((b) => b.name === 'boot.plain')!
  const probed = list.find((b) => b.name === 'boot.probed')!
  t.match(plain, { type: 'backend', admin: 'healthy', health: 'healthy' })
  t.equal(plain.probe, undefined, 'no probe, no probe field')
  t.match(probed, { type: 'backend', admin: 'probe', health: 'sick', probe: { window: 3, health: 'sick' } })
  t.ok(probed.probe!.good < 2)
  t.type(probed.lastChange, Date)
  t.ok(Math.abs(probed.lastChange!.getTime() - before) < 60_000)
})

t.test('a forced admin state wins over the probe', async (t) => {
  await cli.backendSetHealth('boot.plain', 'sick')
  await cli.backendSetHealth('boot.probed', 'healthy')
  const list = await cli.backendList()
  t.match(list.find((b) => b.name === 'boot.plain'), { admin: 'sick', health: 'sick' })
  t.match(list.find((b) => b.name === 'boot.probed'), { admin: 'healthy', health: 'healthy', probe: { health: 'sick' } })
  const only = await cli.backendList('boot.plain')
  t.same(only.map((b) => b.name), ['boot.plain'], 'a pattern narrows the list')
  await cli.backendSetHealth('boot.*', 'auto')
  t.match((await cli.backendList()).find((b) => b.name === 'boot.probed'), { admin: 'probe', health: 'sick' })
})

t.test('the parser takes the exact 7.1.1 shape', async (t) => {
  const body = `[ 3, ["backend.list", "-j"], 1795703101.297,
  {
    "p.default": {
      "type": "backend",
      "admin_health": "probe",
      "probe_message": [2, 3, "healthy"],
      "last_change": 1795703101.292
    },
    "p.other": {
      "type": "backend",
      "admin_health": "sick",
      "probe_message": [0, 0, "healthy"],
      "last_change": 1795703104.812
    }
  }
]
`
  t.same(parseBackendListJson(body), [
    { name: 'p.default', type: 'backend', admin: 'probe', probe: { good: 2, window: 3, health: 'healthy' }, health: 'healthy', lastChange: new Date(1795703101292) },
    { name: 'p.other', type: 'backend', admin: 'sick', health: 'sick', lastChange: new Date(1795703104812) },
  ])
})
