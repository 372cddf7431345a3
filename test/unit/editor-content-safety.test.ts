import t from 'tap'
import { neutraliseEsi, renderSnippet } from '../../platform/html.js'
import { renderBlock } from '../../fragments/sections/fragment.js'

const block = (kind: 'text' | 'html' | 'snippet', content: string) => ({ id: 'b1', slot: 'main' as const, kind, content, position: 1, updatedAt: '2026-01-01T00:00:00Z' })

t.test('no form of ESI markup survives editor HTML', async (t) => {
  for (const input of ['<esi:include src="/x"/>', '<ESI:include src="/x"/>', '</esi:remove>', '<!--esi <esi:include src="/x"/> -->', '< esi:include src="/x"/>']) {
    const out = neutraliseEsi(input)
    t.notMatch(out, /<\s*\/?\s*esi:/i, input)
    t.notMatch(out, /<!--\s*esi/i, input)
  }
})

t.test('text blocks are escaped; html blocks keep markup but lose ESI', async (t) => {
  t.equal(renderBlock(block('text', '<b>bold</b> & co'), new Date()), '<p>&lt;b&gt;bold&lt;/b&gt; &amp; co</p>')
  t.equal(renderBlock(block('html', '<b>ok</b><esi:include src="/fragments/nav"/>'), new Date()), '<b>ok</b>&lt;esi:include src="/fragments/nav"/>')
})

t.test('snippets run without prototype access or unknown helpers, and cannot emit ESI', async (t) => {
  t.equal(renderSnippet('{{constructor.name}}|{{slot.constructor}}', { slot: 'main' }), '|')
  t.equal(renderSnippet('{{#with (lookup this "constructor")}}[{{name}}]{{/with}}', {}), '', 'no way to the constructor through lookup')
  t.throws(() => renderSnippet('{{exec "rm -rf /"}}', {}), /exec/, 'helpers we did not register cannot be called')
  t.equal(renderSnippet('<esi:include src="/x"/>{{slot}}', { slot: '<i>' }), '&lt;esi:include src="/x"/>&lt;i&gt;')
})
