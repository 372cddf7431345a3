import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { EDGE_KEY_PREFIXES } from '../../cache/keys.js'
import { projectRoot } from '../../platform/paths.js'

// The surrogate-key prefixes the VCL writes or purges by itself (string literals on statements that touch xkey
// or the fill key; comments and log lines left out) are exactly the ones the TypeScript side names.
t.test('the key prefixes the VCL spells are the ones cache/keys.ts names, no more, no fewer', async (t) => {
  const dir = path.join(projectRoot, 'varnish')
  const spelled = new Set<string>()
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.vcl'))) {
    for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n')) {
      const code = line.replace(/#.*$/, '')
      if (!/xkey|Fill-Key|fill_key/.test(code) || code.includes('std.log')) continue
      for (const literal of code.match(/"[^"]*"/g) ?? []) {
        for (const m of literal.matchAll(/(?:^"|\s)([a-z][a-z-]*:)/g)) spelled.add(m[1]!)
      }
    }
  }
  t.same([...spelled].sort(), Object.values(EDGE_KEY_PREFIXES).sort())
})
