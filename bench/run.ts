// `npm run bench [-- scenario...]`: runs the named scenarios (default: all) one after another, prints a
// summary, writes bench/results/<scenario>.json, and exits non-zero if any scenario failed.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { projectRoot } from '../platform/paths.js'
import { edgeVsDirect } from './scenarios/edge-vs-direct.js'
import { edgeUnderFaults } from './scenarios/edge-under-faults.js'
import { publishToFresh } from './scenarios/publish-to-fresh.js'
import { edgeCeiling } from './scenarios/edge-ceiling.js'
import { monolithVsEdge } from './scenarios/monolith-vs-edge.js'
import { coldPage } from './scenarios/cold-page.js'
import { writeLatencyChart } from './chart.js'
import { originOffload } from './scenarios/origin-offload.js'
import { stampede } from './scenarios/stampede.js'
import { slowOrigin } from './scenarios/slow-origin.js'
import { pageTier } from './scenarios/page-tier.js'
import { cacheAtScale } from './scenarios/cache-at-scale.js'
import { contentScale } from './scenarios/content-scale.js'
import { shield } from './scenarios/shield.js'
import { viralSpike } from './scenarios/viral-spike.js'
import { redisFailover } from './scenarios/redis-failover.js'
import { legacyOffload } from './scenarios/legacy-offload.js'
import type { Scenario } from './support/scenario.js'

const SCENARIOS: Scenario[] = [edgeVsDirect, publishToFresh, edgeUnderFaults, originOffload, stampede, slowOrigin, edgeCeiling, pageTier, monolithVsEdge, coldPage, cacheAtScale, contentScale, shield, legacyOffload, redisFailover, viralSpike]

function varnishVersion(): string {
  // varnishd -V prints its version on stderr.
  const out = spawnSync('varnishd', ['-V'], { encoding: 'utf8' })
  return /varnish-[\d.]+/.exec(`${out.stdout}${out.stderr}`)?.[0] ?? 'unknown'
}

/** How this run was started, as someone would type it again (with the BENCH_* settings that were set). */
function commandLine(args: string[]): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v} `)
    .join('')
  const invocation = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : `node ${path.relative(process.cwd(), process.argv[1])}`
  return `${env}${invocation}${args.length ? (invocation.startsWith('npm') ? ' -- ' : ' ') + args.join(' ') : ''}`
}

const args = process.argv.slice(2)
const unknown = args.filter((a) => !SCENARIOS.some((s) => s.name === a))
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`)
  process.exit(2)
}
const selected = args.length ? SCENARIOS.filter((s) => args.includes(s.name)) : SCENARIOS
const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version, varnish: varnishVersion(), platform: `${os.platform()} ${os.release()}` }
const command = commandLine(args)
const resultsDir = path.join(projectRoot, 'bench', 'results')
mkdirSync(resultsDir, { recursive: true })

let failed = 0
for (const scenario of selected) {
  process.stdout.write(`\n== ${scenario.name}: ${scenario.description}\n`)
  const started = Date.now()
  try {
    const report = await scenario.run()
    const file = path.join(resultsDir, `${scenario.name}.json`)
    const result = { scenario: scenario.name, date: new Date().toISOString(), command, machine, durationSec: Math.round((Date.now() - started) / 1000), settings: report.settings, figures: report.figures }
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
    for (const line of report.summary) process.stdout.write(`  ${line}\n`)
    process.stdout.write(`  -> ${path.relative(projectRoot, file)} (${result.durationSec} s)\n`)
  } catch (err) {
    failed++
    process.stderr.write(`  FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  }
}
try {
  process.stdout.write(`\nchart: ${path.relative(projectRoot, writeLatencyChart(resultsDir))}\n`)
} catch (err) {
  failed++
  process.stderr.write(`chart FAILED: ${err instanceof Error ? err.message : String(err)}\n`)
}
process.stdout.write(`\nmachine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ${machine.varnish}\n`)
process.exit(failed > 0 ? 1 : 0)
