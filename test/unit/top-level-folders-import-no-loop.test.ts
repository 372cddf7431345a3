import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { projectRoot } from '../../platform/paths.js'

// The sources' import map between top-level folders (platform, cache, fragments, content, ...) must have no
// loop: a shared package that imported its users could not be read, tested or moved on its own. The tests and
// the benchmarks share their harness (stack, waits, counters) both ways, so they count as one folder here.

const SKIP = new Set(['node_modules', 'dist', '.git'])

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name) || e.name.startsWith('.')) return []
    const full = path.join(dir, e.name)
    if (e.isDirectory()) return sources(full)
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : []
  })
}

const HARNESS = new Set(['test', 'bench'])

const topFolder = (file: string) => {
  const folder = path.relative(projectRoot, file).split(path.sep)[0]!
  return HARNESS.has(folder) ? 'test+bench' : folder
}

/** Top-level folder -> the folders it imports from, each with one file that does. */
function importMap(): Map<string, Map<string, string>> {
  const map = new Map<string, Map<string, string>>()
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.\.?\/[^'"]+)['"]/g
  for (const file of sources(projectRoot)) {
    const from = topFolder(file)
    if (!file.slice(projectRoot.length + 1).includes(path.sep)) continue // files at the root
    const edges = map.get(from) ?? new Map<string, string>()
    map.set(from, edges)
    for (const m of readFileSync(file, 'utf8').matchAll(specifier)) {
      const to = topFolder(path.resolve(path.dirname(file), m[1]!))
      if (to !== from && !edges.has(to)) edges.set(to, path.relative(projectRoot, file))
    }
  }
  return map
}

/** A loop as folder names (first repeated at the end), or undefined. */
function findLoop(map: Map<string, Map<string, string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (folder: string): string[] | undefined => {
    if (state.get(folder) === 'done') return undefined
    if (state.get(folder) === 'open') return [...stack.slice(stack.indexOf(folder)), folder]
    state.set(folder, 'open')
    stack.push(folder)
    for (const to of map.get(folder)?.keys() ?? []) {
      const loop = visit(to)
      if (loop) return loop
    }
    stack.pop()
    state.set(folder, 'done')
    return undefined
  }
  for (const folder of map.keys()) {
    const loop = visit(folder)
    if (loop) return loop
  }
  return undefined
}

t.test('no loop in the imports between top-level folders', async (t) => {
  const map = importMap()
  t.ok(map.get('fragments')?.has('platform'), 'the map is read: fragments import platform')
  const loop = findLoop(map)
  const via = loop?.slice(1).map((to, i) => `${loop[i]} -> ${to} (${map.get(loop[i]!)!.get(to)})`)
  t.same(via, undefined, 'a loop between top-level folders')
})

t.test('the shared packages import none of their users', async (t) => {
  const map = importMap()
  t.same([...(map.get('platform')?.keys() ?? [])], [], 'platform imports no other folder')
  t.same([...(map.get('cache')?.keys() ?? [])].filter((f) => f !== 'platform' && f !== 'content'), [], 'cache imports only platform and the content model')
  const intoHarness = [...map].filter(([from, to]) => from !== 'test+bench' && to.has('test+bench')).map(([, to]) => to.get('test+bench'))
  t.same(intoHarness, [], 'no part of the system imports the tests or the benchmarks')
})
