// `npm test`: VCL tests (varnishtest), then unit and component tests (tap, in parallel), then the
// integration tests against the real stack (tap, one file at a time). Ends with "N passed, N failed".
import { spawn } from 'node:child_process'
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { projectRoot } from '../platform/paths.js'
import { chooseJail } from './stack/varnishd.js'

interface Counts {
  passed: number
  failed: number
}

function run(command: string, args: string[], onLine: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    let buffered = ''
    const feed = (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) onLine(line)
    }
    child.stdout.on('data', feed)
    child.stderr.on('data', feed)
    child.on('close', (code) => {
      if (buffered) onLine(buffered)
      resolve(code ?? 1)
    })
  })
}

function filesUnder(dir: string, suffix: string): string[] {
  const abs = path.join(projectRoot, dir)
  try {
    statSync(abs)
  } catch {
    return []
  }
  return readdirSync(abs, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(suffix))
    .map((f) => path.join(dir, f))
    .sort()
}

/**
 * As root, varnishtest's varnishd drops to the varnish/vcache users, which cannot read a checkout inside a 0700
 * directory (say /root). Then the VCL and its tests run from a world-readable copy, so the privilege drop
 * is still what is tested.
 */
async function vclDirForVarnishtest(): Promise<string> {
  const source = path.join(projectRoot, 'varnish')
  const { jail } = await chooseJail({ vclFile: path.join(source, 'default.vcl'), vclPath: [source], workDir: os.tmpdir() })
  if (jail === 'unix' || process.getuid?.() !== 0) return source
  const copy = mkdtempSync(path.join(os.tmpdir(), 'tessera-vcl-'))
  chmodSync(copy, 0o755)
  cpSync(source, path.join(copy, 'varnish'), { recursive: true })
  return path.join(copy, 'varnish')
}

async function varnishTests(): Promise<Counts> {
  const vclDir = await vclDirForVarnishtest()
  const files = readdirSync(path.join(vclDir, 'tests')).filter((f) => f.endsWith('.vtc')).sort().map((f) => path.join(vclDir, 'tests', f))
  const counts = { passed: 0, failed: 0 }
  console.log(`\n== VCL: varnishtest (${files.length} files${vclDir.startsWith(projectRoot) ? '' : `, from a readable copy in ${vclDir}`})`)
  const code = await run('varnishtest', ['-j2', '-k', ...files], (line) => {
    if (/^#\s+top\s+TEST .* passed/.test(line)) counts.passed++
    else if (/^#\s+top\s+TEST .* FAILED/.test(line)) counts.failed++
    if (line.trim()) console.log(line)
  })
  if (code !== 0 && counts.failed === 0) counts.failed = 1 // varnishtest itself failed
  if (!vclDir.startsWith(projectRoot)) rmSync(path.dirname(vclDir), { recursive: true, force: true })
  return counts
}

async function tapTests(title: string, files: string[], jobs: number): Promise<Counts> {
  console.log(`\n== ${title} (${files.length} files)`)
  if (files.length === 0) return { passed: 0, failed: 0 }
  const counts = { passed: 0, failed: 0 }
  let summarised = false
  const tap = path.join(projectRoot, 'node_modules', '.bin', 'tap')
  const code = await run(tap, ['--disable-coverage', `--jobs=${jobs}`, '--timeout=300', '--reporter=tap', ...files], (line) => {
    console.log(line)
    const m = line.match(/^# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?/)
    if (m) {
      counts.passed += Number(m[2])
      counts.failed += Number(m[3] ?? 0)
      summarised = true
    }
  })
  if (code !== 0 && (counts.failed === 0 || !summarised)) counts.failed = Math.max(counts.failed, 1)
  return counts
}

const total = { passed: 0, failed: 0 }
const add = (c: Counts) => {
  total.passed += c.passed
  total.failed += c.failed
}
add(await varnishTests())
const all = filesUnder('dist/test', '.test.js')
const integration = all.filter((f) => f.includes(`${path.sep}integration${path.sep}`))
add(await tapTests('unit and component tests (tap)', all.filter((f) => !integration.includes(f)), 2))
add(await tapTests('integration tests against the real stack (tap, serial)', integration, 1))
console.log(`\n${total.passed} passed, ${total.failed} failed`)
process.exit(total.failed > 0 ? 1 : 0)
