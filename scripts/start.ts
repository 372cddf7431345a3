// `npm start`: the whole stack with demo content, on loopback, until Ctrl-C / SIGTERM.
import path from 'node:path'
import { loadConfig, ORIGIN_NAMES } from '../platform/config.js'
import { TesseraError } from '../platform/errors.js'
import { startStack } from './stack/stack.js'

const config = loadConfig(process.env)
const colours = ['36', '33', '35', '32', '34', '31', '96', '93']
const sourceColour = new Map<string, string>()
const log = (source: string, line: string) => {
  if (!sourceColour.has(source)) sourceColour.set(source, colours[sourceColour.size % colours.length])
  const prefix = process.stdout.isTTY ? `\x1b[${sourceColour.get(source)}m${source.padEnd(8)}\x1b[0m` : source.padEnd(8)
  process.stdout.write(`${prefix} ${line}\n`)
}

let stack: Awaited<ReturnType<typeof startStack>>
try {
  stack = await startStack({ config, log })
} catch (err) {
  // A bad topology file (TESSERA_TOPOLOGY) or TESSERA_INSTANCES says what is wrong; nothing is left running.
  if (err instanceof TesseraError) {
    process.stderr.write(`${err.code}: ${err.message}\n`)
    process.exit(1)
  }
  throw err
}
let stopping = false
const stop = async (signal: string) => {
  if (stopping) return
  stopping = true
  log('stack', `${signal}: stopping every service`)
  await stack.stop()
  log('stack', 'stopped; nothing left running')
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))

const edge = stack.edges[0]
const fromEnv = (name: string) => (process.env[name] ? ' (from the environment)' : ` (kept in ${path.relative(process.cwd(), path.join(config.stateDir, 'secrets.json'))})`)
process.stdout.write(`
Tessera is running.

  Site (through the edge):   ${edge.url}/
  Page tier:                 ${config.edge.pageTier ? `on (assembled pages cached; inner address 127.0.0.1:${config.edge.innerPort}${config.edge.lateIncludes.length ? `; late-bound, resolved per delivery: ${config.edge.lateIncludes.join(' ')}` : ''})` : 'off (TESSERA_PAGE_TIER=off: pages assembled per request)'}
  Shield tier:               ${stack.shields.length ? `on (${stack.shields.map((s) => s.url).join(', ')}; edges fetch fragments and shells from it, the origins when it is sick)` : 'off (TESSERA_SHIELD=on puts one shield varnishd between the edges and the origins)'}
  Content API:               http://${config.host}:${config.ports.content}/
  Console (editors, ops):    http://${config.host}:${config.ports.purge}/console   (purge API on the same port)
  Services:                  ${ORIGIN_NAMES.map((n) => `${n} ${stack.topology.services[n].map((i) => (i.host === config.host ? `:${i.port}` : `${i.host}:${i.port}`)).join(' ')}`).join(', ')}${stack.topology.source === 'defaults' ? '' : ` (topology ${stack.topology.source})`}
  Redis:                     ${stack.redisUrl}
  Edge admin (varnishadm):   varnishadm -n ${edge.workDir} -T ${config.host}:${edge.adminPort} -S ${edge.secretFile}

  TESSERA_EDITOR_TOKEN=${stack.secrets.editorToken}${fromEnv('TESSERA_EDITOR_TOKEN')}
  TESSERA_DEBUG_TOKEN=${stack.secrets.debugToken}${fromEnv('TESSERA_DEBUG_TOKEN')}
  TESSERA_OPS_TOKEN=${stack.secrets.opsToken}${fromEnv('TESSERA_OPS_TOKEN')}

  Try:  curl -s ${edge.url}/articles/$(curl -s -H "Authorization: Bearer ${stack.secrets.editorToken}" "http://${config.host}:${config.ports.content}/articles?limit=1" | node -pe 'JSON.parse(require("fs").readFileSync(0)).items[0].slug')
        curl -sI -H "X-Tessera-Debug: ${stack.secrets.debugToken}" ${edge.url}/

Press Ctrl-C to stop.
`)
