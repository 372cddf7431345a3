// `npm run topology -- reload` with a topology that leaves out a shield npm start runs (TESSERA_SHIELD=on forgotten)
// would take the shield out of the edges' VCL: the CLI warns, naming it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { SHIELD_SITE_MARK } from '../../topology/site-vcl.js'
import { localSiteFile, shieldsLeftOut } from '../../topology/reload.js'
import type { Topology } from '../../topology/topology.js'

const stateDir = mkdtempSync(path.join(os.tmpdir(), 'tessera-shields-left-out-'))
t.teardown(() => rmSync(stateDir, { recursive: true, force: true }))
const write = (node: string, text: string) => {
  mkdirSync(path.dirname(localSiteFile(stateDir, node)), { recursive: true })
  writeFileSync(localSiteFile(stateDir, node), text)
}
write('edge1', 'backend tessera_nav { .host = "127.0.0.1"; }\n')
write('shield1', `backend tessera_nav { .host = "127.0.0.1"; }\n${SHIELD_SITE_MARK} It starts empty.\n`)
write('far-shield', `${SHIELD_SITE_MARK}\n`)
const shield = (name: string) => ({ name, url: 'http://127.0.0.1:8090', admin: { host: '127.0.0.1', port: 6192 } })
const topology = (shields: string[]) => ({ shields: shields.map(shield) }) as unknown as Topology

t.same(shieldsLeftOut(stateDir, topology([])), ['far-shield', 'shield1'], 'a topology without shields leaves out both')
t.same(shieldsLeftOut(stateDir, topology(['shield1'])), ['far-shield'])
t.same(shieldsLeftOut(stateDir, topology(['shield1', 'far-shield'])), [], 'every shield named: no warning')
t.same(shieldsLeftOut(path.join(stateDir, 'nowhere'), topology([])), [], 'no state dir: nothing to say')
