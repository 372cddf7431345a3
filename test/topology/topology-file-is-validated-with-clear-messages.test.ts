// TESSERA_TOPOLOGY: the file is read and checked at start; every problem is named with where it is.
import t from 'tap'
import { loadConfig } from '../../platform/config.js'
import { InvalidConfig } from '../../platform/errors.js'
import { defaultTopology, InvalidTopology, parseTopology } from '../../topology/topology.js'

const THREE_MACHINES = `
services:
  layout:   [10.0.0.11:3000, 10.0.0.12:3000]
  nav:      [10.0.0.11:3001, 10.0.0.12:3001, 10.0.0.13:3001]
  sidebar:  [10.0.0.11:3002]
  article:  [10.0.0.11:3003, 10.0.0.12:3003]
  sections: [10.0.0.12:3004]
edges:
  - name: edge1
    url: http://10.0.0.11:8080
    admin: 10.0.0.11:6182
    workdir: /var/lib/tessera/varnish/edge1
  - name: edge2
    url: http://10.0.0.12:8080
    admin: 10.0.0.12:6182
    inner: 127.0.0.1:8091
shields:
  - name: shield1
    url: http://10.0.0.13:8090
    admin: 10.0.0.13:6192
purge_acl: [10.0.0.0/24]
`

t.test('a three-machine topology is read with every instance, edge and shield', async (t) => {
  const topo = parseTopology(THREE_MACHINES, 'three.yaml')
  t.same(topo.services.nav, [{ host: '10.0.0.11', port: 3001 }, { host: '10.0.0.12', port: 3001 }, { host: '10.0.0.13', port: 3001 }])
  t.equal(topo.services.sections.length, 1)
  t.same(topo.edges[0], { name: 'edge1', url: 'http://10.0.0.11:8080', admin: { host: '10.0.0.11', port: 6182 }, workdir: '/var/lib/tessera/varnish/edge1' })
  t.same(topo.edges[1].inner, { host: '127.0.0.1', port: 8091 })
  t.same(topo.shields, [{ name: 'shield1', url: 'http://10.0.0.13:8090', admin: { host: '10.0.0.13', port: 6192 } }])
  t.same(topo.purgeAcl, ['10.0.0.0/24'])
  t.equal(topo.source, 'three.yaml')
})

t.test('shield: (the issue\'s name) is read as shields: is, as a list or as one mapping; both at once is refused', async (t) => {
  const expected = [{ name: 'shield1', url: 'http://10.0.0.13:8090', admin: { host: '10.0.0.13', port: 6192 } }]
  t.same(parseTopology(THREE_MACHINES.replace('shields:', 'shield:'), 'x.yaml').shields, expected, 'shield: as a list')
  const one = THREE_MACHINES.replace(/shields:\n  - name: shield1\n    url: (\S+)\n    admin: (\S+)\n/, 'shield: { name: shield1, url: $1, admin: $2 }\n')
  t.match(one, /^shield: \{ name: shield1/m)
  t.same(parseTopology(one, 'x.yaml').shields, expected, 'shield: as one mapping')
  const two = THREE_MACHINES.replace('shields:', 'shield:\n  - name: shield2\n    url: http://10.0.0.14:8090\n    admin: 10.0.0.14:6192\nshields:')
  const error = t.throws(() => parseTopology(two, 'x.yaml')) as InvalidTopology
  t.same(error.problems, ['shield: and shields: name the same list; use one (shields: preferred)'])
  const bad = t.throws(() => parseTopology(THREE_MACHINES.replace('shields:', 'shield:').replace('name: shield1', 'name: Shield1'), 'x.yaml')) as InvalidTopology
  t.match(bad.problems, [/^shield\[0\]\.name: "Shield1" must be/], 'problems name the key the file used')
})

t.test('without shields and purge_acl: none, and PURGE from loopback only', async (t) => {
  const topo = parseTopology(THREE_MACHINES.replace(/shields:[\s\S]*$/, ''), 'x.yaml')
  t.same(topo.shields, [])
  t.same(topo.purgeAcl, ['127.0.0.1', '::1'])
})

function problemsOf(text: string): string[] {
  try {
    parseTopology(text, 'bad.yaml')
  } catch (err) {
    if (err instanceof InvalidTopology) return err.problems
    throw err
  }
  throw new Error('the topology was accepted')
}

t.test('every problem is listed, each with where it is', async (t) => {
  const problems = problemsOf(`
services:
  layout: [10.0.0.11:3000]
  nav: [10.0.0.11:99999, "evil\\"host:3001", 10.0.0.11:3001, 10.0.0.11:3001]
  sidebar: []
  article: [10.0.0.11:3003]
  comments: [10.0.0.11:3009]
edges:
  - name: edge1
    url: https://10.0.0.11:8080
    admin: 10.0.0.11
  - name: edge1
    url: http://10.0.0.12:8080
    admin: 10.0.0.12:6182
    workdir: relative/dir
    colour: blue
shields:
  - name: Shield
    url: http://10.0.0.13:8090/path
    admin: 10.0.0.13:6192
purge_acl: [not-an-address]
`)
  const expect = [
    /^services: unknown key "comments"/,
    /^services\.nav\[0\]: "10\.0\.0\.11:99999" must be host:port/,
    /^services\.nav\[1\]: .* must be host:port/,
    /^services\.nav\[3\]: 10\.0\.0\.11:3001 is listed twice/,
    /^services\.sidebar: must list at least one instance/,
    /^services\.sections: must list at least one instance/,
    /^edges\[0\]\.url: .* must be an http:\/\/ base URL/,
    /^edges\[0\]\.admin: "10\.0\.0\.11" must be host:port/,
    /^edges\[1\]: unknown key "colour"/,
    /^edges\[1\]\.name: edge1 is used twice/,
    /^edges\[1\]\.workdir: must be an absolute path/,
    /^shields\[0\]\.name: "Shield" must be/,
    /^shields\[0\]\.url: .* must be an http:\/\/ base URL/,
    /^purge_acl: "not-an-address" is not an address or CIDR/,
  ]
  for (const re of expect) t.ok(problems.some((p) => re.test(p)), `names: ${re}`)
  t.equal(problems.length, expect.length, `exactly these problems:\n${problems.join('\n')}`)
})

t.test('not YAML, not a mapping, no edges: one clear message each', async (t) => {
  t.match(problemsOf('services: [unclosed'), [/^not YAML: /])
  t.match(problemsOf('- a list'), [/must be a mapping with services: and edges:/])
  const noEdges = problemsOf(THREE_MACHINES.replace(/edges:[\s\S]*$/, ''))
  t.same(noEdges, ['edges: must list at least one edge node {name, url, admin}'])
  const err = (() => {
    try {
      parseTopology('- a list', 'bad.yaml')
    } catch (e) {
      return e as InvalidTopology
    }
  })()
  t.equal(err?.code, 'TESSERA_INVALID_TOPOLOGY')
  t.match(err?.message, /^topology bad\.yaml is not valid:\n {2}- /)
})

t.test('TESSERA_INSTANCES: instance i of a service listens on its port + 1000 x i', async (t) => {
  const config = loadConfig({ TESSERA_INSTANCES: 'nav=3,article=2', TESSERA_STATE_DIR: '/tmp/tessera-topology-test' })
  const topo = defaultTopology(config)
  t.same(topo.services.nav.map((i) => i.port), [3001, 4001, 5001])
  t.same(topo.services.article.map((i) => i.port), [3003, 4003])
  t.same(topo.services.layout.map((i) => i.port), [3000], 'the others: one each')
  t.equal(topo.source, 'defaults')
  t.same(topo.edges.map((e) => e.name), ['edge1'])
})

t.test('TESSERA_INSTANCES is validated at start', async (t) => {
  for (const bad of ['nav', 'nav=0', 'nav=10', 'comments=2', 'nav=two']) {
    t.throws(() => loadConfig({ TESSERA_INSTANCES: bad }), InvalidConfig, bad)
  }
  t.throws(() => loadConfig({ TESSERA_INSTANCES: 'nav=2,comments=2' }), /TESSERA_INSTANCES: "comments=2" must be <service>=<1-9>/)
  t.throws(() => defaultTopology(loadConfig({ TESSERA_INSTANCES: 'nav=9', TESSERA_NAV_PORT: '60000' })), /nav instance 7 would listen on port 66000 \(port \+ 1000 x 6\), above 65535/)
})

t.test('TESSERA_TOPOLOGY that cannot be read says so', async (t) => {
  const { loadTopology } = await import('../../topology/topology.js')
  t.throws(() => loadTopology(loadConfig({ TESSERA_TOPOLOGY: '/nonexistent/topology.yaml' })), /topology \/nonexistent\/topology\.yaml is not valid:\n {2}- cannot be read \(TESSERA_TOPOLOGY\)/)
})
