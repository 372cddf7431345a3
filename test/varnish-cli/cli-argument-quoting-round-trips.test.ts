import net from 'node:net'

import t from 'tap'

import {
  authResponse,
  CliFrameReader,
  encodeCliArgument,
  VarnishCli,
  VarnishCliCommandFailed,
  VarnishCliInvalidArgument,
  type CliResponse,
} from '../../varnish-cli/varnish-cli.js'
import { startTestVarnish } from './helpers.js'

const v = await startTestVarnish(t)
const cli = await VarnishCli.connect({ host: '127.0.0.1', port: v.adminPort, secret: v.secret })
t.teardown(() => cli.close())

// Valid VCL that is full of what a CLI argument must escape. vcl.show echoes the source byte for byte.
const TRICKY = [
  'vcl 4.1;',
  '# spaces   and\ttabs, "double quotes", back\\slash, \\x20 \\n literal, # hash, é ü 漢 😀',
  'backend default { .host = "127.0.0.1"; .port = "9"; }',
  'sub vcl_recv {',
  '\tset req.http.x-test = {"a "quoted" \\ value\twith tab"};',
  '}',
  '',
].join('\n')

t.test('an argument with spaces, quotes, tabs, backslashes, newlines and UTF-8 arrives intact', async (t) => {
  const r = await cli.command('vcl.inline', 'tricky', TRICKY)
  t.equal(r.status, 200, r.body)
  t.teardown(() => cli.command('vcl.discard', 'tricky'))
  const shown = await cli.command('vcl.show', 'tricky')
  t.equal(shown.status, 200)
  t.equal(shown.body, TRICKY)
})

t.test('the same source as a here-document (vclInline) arrives intact', async (t) => {
  await cli.vclInline('tricky_heredoc', TRICKY)
  t.teardown(() => cli.command('vcl.discard', 'tricky_heredoc'))
  t.equal((await cli.command('vcl.show', 'tricky_heredoc')).body, TRICKY)
})

t.test('a VCL syntax error comes back as VarnishCliCommandFailed quoting our line verbatim', async (t) => {
  const bad = 'vcl 4.1;\nbackend default { .host = "127.0.0.1"; .port = "9"; }\nsub vcl_recv { set req.http.x = {"a "b" \\c é"} + ; }\n'
  const r = await cli.command('vcl.inline', 'bad', bad)
  t.equal(r.status, 106)
  t.match(r.body, /Line 3 Pos \d+/)
  t.ok(r.body.includes('sub vcl_recv { set req.http.x = {"a "b" \\c é"} + ; }'), r.body)
  const err = await cli.vclInline('bad', bad).catch((e: unknown) => e)
  t.type(err, VarnishCliCommandFailed)
  t.match((err as Error).message, /VCL compilation failed/)
})

t.test('arguments that look like CLI syntax stay one argument, byte for byte', async (t) => {
  t.equal(encodeCliArgument(''), '""')
  t.equal(encodeCliArgument('a b"c\\d\n'), 'a\\x20b\\"c\\\\d\\n')
  // param.show (answered by the manager) echoes an unknown name: 'Unknown parameter "<name>".'
  for (const name of ['1 2', '<< EOF', '"quoted"', '"a" "b"', 'back\\slash', '\\x20', 'tab\there', 'new\nline', '#hash', 'é 漢', '']) {
    const r = await cli.command('param.show', name)
    t.equal(r.status, 106, JSON.stringify(name))
    t.equal(r.body, `Unknown parameter "${name}".`, JSON.stringify(name))
  }
})

t.test('what 7.1.1 would mangle is refused before it is sent, and varnishd stays healthy', async (t) => {
  // vcl.show is answered by the cache child: the manager re-sends it unquoted, splitting at spaces.
  await t.rejects(cli.command('vcl.show', 'a b'), { name: 'VarnishCliInvalidArgument', code: 'TESSERA_VARNISH_ARGUMENT' })
  // "<< EOF" split into "<<" "EOF" would make the child wait for a here-document until it is killed.
  await t.rejects(cli.command('vcl.show', '<< EOF'), VarnishCliInvalidArgument)
  await t.rejects(cli.command('param.show', '<<', 'x'), /here-document/)
  t.equal((await cli.command('vcl.show', 'tab\tname')).body, "No VCL named 'tab\tname'", 'a tab survives the re-send')
  await cli.ping()
  t.equal(await cli.status(), 'running')
})

t.test('why arguments are not double-quoted: 7.1.1 rejects two quoted arguments in a row', async (t) => {
  const answers = await new Promise<CliResponse[]>((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port: v.adminPort })
    const reader = new CliFrameReader()
    const got: CliResponse[] = []
    s.on('data', (d) => {
      for (const r of reader.push(d)) {
        got.push(r)
        if (got.length === 1) s.write(`auth ${authResponse(r.body.slice(0, 32), v.secret)}\n`)
        if (got.length === 2) s.write('param.show "default_ttl" "x"\nparam.show default_ttl\n')
        if (got.length === 4) { s.destroy(); resolve(got) }
      }
    })
    s.on('error', reject)
  })
  t.equal(answers[1]!.status, 200, 'authenticated')
  t.equal(answers[2]!.status, 100)
  t.match(answers[2]!.body, /Missing separator between arguments/)
  t.equal(answers[3]!.status, 200, 'the unquoted form works on the same connection')
})
