// Tokens and secrets: from the environment when set, else generated once and kept in the state dir
// (mode 0600), so a development stack keeps the same tokens across restarts.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Config } from './config.js'

export interface Secrets {
  editorToken: string
  opsToken: string
  purgeSecret: string
  debugToken: string
  previewSecret: string
}

const generate = () => randomBytes(24).toString('base64url')

/** The secrets kept in the state dir (those `npm start` generated), without generating any. */
export function storedSecrets(config: Config): Partial<Secrets> {
  const file = path.join(config.stateDir, 'secrets.json')
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {}
}

export function ensureSecrets(config: Config): Secrets & { generated: Array<keyof Secrets> } {
  const file = path.join(config.stateDir, 'secrets.json')
  const stored = storedSecrets(config)
  const generated: Array<keyof Secrets> = []
  const pick = (name: keyof Secrets, configured: string | undefined): string => {
    if (configured) return configured
    if (stored[name]) return stored[name]
    generated.push(name)
    return (stored[name] = generate())
  }
  const secrets: Secrets = {
    editorToken: pick('editorToken', config.editorToken),
    opsToken: pick('opsToken', config.opsToken),
    purgeSecret: pick('purgeSecret', config.purgeSecret),
    debugToken: pick('debugToken', config.debugToken),
    previewSecret: pick('previewSecret', config.previewSecret),
  }
  if (generated.length) {
    mkdirSync(config.stateDir, { recursive: true })
    writeFileSync(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 })
  }
  return { ...secrets, generated }
}
