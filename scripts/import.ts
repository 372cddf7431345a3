// `npm run import -- file.ndjson [--url http://127.0.0.1:3200] [--lines-per-request 5000]`: the command-line
// client of POST /import. Streams the file, sends it in requests of at most --lines-per-request lines (the API
// takes at most IMPORT_LIMITS.lines per request), prints every refused line with its file line number and
// reason, then a summary. Exit code 0 when every line was written, 1 when some line was refused, 2 on a
// usage or connection error. The editor token comes from TESSERA_EDITOR_TOKEN or the state dir's secrets.json.
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { IMPORT_LIMITS, type ImportReport } from '../content/import.js'
import { loadConfig } from '../platform/config.js'

function usage(message: string): never {
  process.stderr.write(`import: ${message}\nusage: npm run import -- file.ndjson [--url http://HOST:PORT] [--lines-per-request N]\n`)
  process.exit(2)
}

const args = process.argv.slice(2)
let file: string | undefined
let url: string | undefined
let perRequest = Math.floor(IMPORT_LIMITS.lines / 2)
for (let i = 0; i < args.length; i++) {
  const a = args[i]!
  if (a === '--url') url = args[++i] ?? usage('--url needs a value')
  else if (a === '--lines-per-request') {
    perRequest = Number(args[++i])
    if (!Number.isSafeInteger(perRequest) || perRequest < 1 || perRequest > IMPORT_LIMITS.lines) usage(`--lines-per-request must be 1-${IMPORT_LIMITS.lines}`)
  } else if (a.startsWith('--')) usage(`unknown option ${a}`)
  else if (file === undefined) file = a
  else usage('one file at a time')
}
if (file === undefined) usage('name the NDJSON file to import')
if (!existsSync(file)) usage(`${file} does not exist`)

const config = loadConfig(process.env)
const secretsFile = path.join(config.stateDir, 'secrets.json')
const token = config.editorToken ?? (existsSync(secretsFile) ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as { editorToken?: string }).editorToken : undefined)
if (!token) usage(`no editor token: set TESSERA_EDITOR_TOKEN (or start the stack once, which keeps it in ${secretsFile})`)
const base = (url ?? `http://${config.host}:${config.ports.content}`).replace(/\/$/, '')

const totals = { lines: 0, created: 0, updated: 0, failed: 0, articles: 0 }
const started = performance.now()

async function send(chunk: string[], firstLine: number): Promise<void> {
  let res: Response
  try {
    res = await fetch(`${base}/import`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body: chunk.join('\n') + '\n' })
  } catch (err) {
    usage(`cannot reach ${base}: ${(err as Error).message}`)
  }
  const answer = (await res.json().catch(() => undefined)) as (ImportReport & { error?: { message: string } }) | undefined
  if (res.status !== 200 || !answer?.results) usage(`${base}/import answered ${res.status}: ${answer?.error?.message ?? 'no report'}`)
  for (const r of answer.results) {
    const line = firstLine + r.line - 1
    if (r.result === 'error') {
      process.stdout.write(`line ${line}${r.kind ? ` ${r.kind}` : ''}${r.id ? ` ${r.id}` : ''}: ${r.error?.code} ${r.error?.message}\n`)
    } else if (r.kind === 'article') totals.articles++
  }
  totals.lines += answer.lines
  totals.created += answer.created
  totals.updated += answer.updated
  totals.failed += answer.failed
}

const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity })
let chunk: string[] = []
let firstLine = 1
let lineNo = 0
for await (const text of lines) {
  lineNo++
  chunk.push(text)
  if (chunk.length >= perRequest) {
    await send(chunk, firstLine)
    chunk = []
    firstLine = lineNo + 1
  }
}
if (chunk.length > 0) await send(chunk, firstLine)

const seconds = (performance.now() - started) / 1000
process.stdout.write(
  `${file}: ${totals.lines} lines, ${totals.created} created, ${totals.updated} updated, ${totals.failed} refused; ` +
    `${seconds.toFixed(1)} s, ${Math.round(totals.articles / seconds)} articles/s\n`,
)
process.exit(totals.failed > 0 ? 1 : 0)
