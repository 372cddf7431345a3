// `npm start`: the whole stack with demo content, on loopback, until Ctrl-C / SIGTERM.
import path from 'node:path'
import { loadConfig } from '../fragments/kit/config.js'
import { startStack } from './stack/stack.js'

const config = loadConfig(process.env)
const colours = ['36', '33', '35', '32', '34', '31', '96', '93']
const sourceColour = new Map<string, string>()
const log = (source: string, line: string) => {
  if (!sourceColour.has(source)) sourceColour.set(source, colours[sourceColour.size % colours.length])
  const prefix = process.stdout.isTTY ? `\x1b[${sourceColour.get(source)}m${source.padEnd(8)}\x1b[0m` : source.padEnd(8)
  process.stdout.write(`${prefix} ${line}\n`)
}

const stack = await startStack({ config, log })
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
  Page tier:                 ${config.edge.pageTier ? `on (assembled pages cached; inner address 127.0.0.1:${config.edge.innerPort})` : 'off (TESSERA_PAGE_TIER=off: pages assembled per request)'}
  Content API:               http://${config.host}:${config.ports.content}/
  Console (editors, ops):    http://${config.host}:${config.ports.purge}/console   (purge API on the same port)
  Services:                  layout :${config.ports.layout}, nav :${config.ports.nav}, sidebar :${config.ports.sidebar}, article :${config.ports.article}, sections :${config.ports.sections}
  Redis:                     ${stack.redisUrl}
  Edge admin (varnishadm):   varnishadm -n ${edge.workDir} -T ${config.host}:${edge.adminPort} -S ${edge.secretFile}

  TESSERA_EDITOR_TOKEN=${stack.secrets.editorToken}${fromEnv('TESSERA_EDITOR_TOKEN')}
  TESSERA_DEBUG_TOKEN=${stack.secrets.debugToken}${fromEnv('TESSERA_DEBUG_TOKEN')}
  TESSERA_OPS_TOKEN=${stack.secrets.opsToken}${fromEnv('TESSERA_OPS_TOKEN')}

  Try:  curl -s ${edge.url}/articles/$(curl -s -H "Authorization: Bearer ${stack.secrets.editorToken}" "http://${config.host}:${config.ports.content}/articles?limit=1" | node -pe 'JSON.parse(require("fs").readFileSync(0)).items[0].slug')
        curl -sI -H "X-Tessera-Debug: ${stack.secrets.debugToken}" ${edge.url}/

Press Ctrl-C to stop.
`)
