import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { projectRoot } from '../../platform/paths.js'
import { ASSEMBLY_STATE_HEADERS, INTERNAL_HEADERS_VCL, internalHeadersVcl, OBJECT_INTERNAL_HEADERS } from '../../scripts/stack/internal-headers.js'

t.test('varnish/internal-headers.vcl is what scripts/stack/internal-headers.ts generates from its lists', async (t) => {
  t.equal(readFileSync(INTERNAL_HEADERS_VCL, 'utf8'), internalHeadersVcl(), 'regenerate: node dist/scripts/stack/internal-headers.js --write')
})

t.test('each list is removed in each of its contexts, and named nowhere else in the VCL', async (t) => {
  const vcl = internalHeadersVcl()
  for (const h of OBJECT_INTERNAL_HEADERS) t.ok(vcl.includes(`unset resp.http.${h};`) && vcl.includes(`unset beresp.http.${h};`), h)
  for (const h of ASSEMBLY_STATE_HEADERS) t.ok(vcl.includes(`unset bereq.http.${h};`), h)
  const vclFile = (file: string) => readFileSync(path.join(projectRoot, 'varnish', file), 'utf8')
  // (Via and X-Varnish are also removed by the page-tier copy's own short delivery and by synth answers.)
  for (const h of OBJECT_INTERNAL_HEADERS.filter((h) => h.startsWith('X-Tessera-'))) t.notMatch(vclFile('headers.vcl'), `unset resp.http.${h};`, `headers.vcl does not unset ${h} by hand`)
  for (const h of OBJECT_INTERNAL_HEADERS) t.notMatch(vclFile('tier.vcl'), `unset beresp.http.${h};`, `tier.vcl does not unset ${h} by hand`)
  for (const h of ASSEMBLY_STATE_HEADERS) t.notMatch(vclFile('tier.vcl'), `unset bereq.http.${h};`, `tier.vcl does not unset ${h} by hand`)
})
