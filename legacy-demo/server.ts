// `node dist/legacy-demo/server.js --port 3300`: the simulated legacy CMS (TESSERA_DEMO_LEGACY=on npm start runs it).
import { loadConfig, portFromArgs } from '../platform/config.js'
import { serve } from '../platform/service.js'
import { buildLegacyDemoApp } from './app.js'
import { loadLegacyDemoConfig } from './config.js'

const config = loadConfig(process.env)
const app = buildLegacyDemoApp(loadLegacyDemoConfig(process.env), { logLevel: config.logLevel })
await serve(app, config.host, portFromArgs(process.argv, config.demoLegacyPort))
