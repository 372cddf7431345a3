// What GET /stats/top reads from varnishtop, and how PUT /edges/:name's body is checked (the topology file's
// rules for one edge, each problem with its field).
import t from 'tap'
import { parseTopLines } from '../../purge-service/top-pages.js'
import { parseEdgeNode } from '../../topology/topology.js'

t.test('varnishtop -1 lines: the count and the URL of each ReqURL line; anything else is skipped', async (t) => {
  const text = ['   1234.00 ReqURL         /articles/a-viral-story', '     12.50 ReqURL /', '      3.00 ReqHeader Host: x', 'garbage', '      2.00 ReqURL /sections/news?page=2', ''].join('\n')
  t.same(parseTopLines(text), [
    { url: '/articles/a-viral-story', reads: 1234 },
    { url: '/', reads: 12.5 },
    { url: '/sections/news?page=2', reads: 2 },
  ])
})

t.test('an edge node given alone: valid, or every problem with its field', async (t) => {
  t.same(parseEdgeNode('edge3', { url: 'http://10.0.0.14:8080', admin: '10.0.0.14:6182', inner: '127.0.0.1:8081' }), {
    edge: { name: 'edge3', url: 'http://10.0.0.14:8080', admin: { host: '10.0.0.14', port: 6182 }, inner: { host: '127.0.0.1', port: 8081 } },
    problems: [],
  })
  const bad = parseEdgeNode('Edge 3', { url: 'https://x', admin: 'x', workdir: 'rel' })
  t.equal(bad.edge, undefined)
  t.match(bad.problems, [/^name: /, /^url: /, /^admin: /, /^workdir: /])
  t.match(parseEdgeNode('edge3', { url: 'http://a:1', admin: 'a:2', port: 3 }).problems, [/^body: unknown key "port"/])
})
