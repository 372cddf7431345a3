// Bulk import: NDJSON of articles, sections and blocks, one record per line, read as a stream (never buffered
// whole). Each line is validated on its own; valid lines are written in batches (one MULTI/EXEC and one batch
// event each, ContentRepository.importBatch); every line gets its own result. A bad line is reported and
// writes nothing; it does not stop the others.
//
// A line is a record as GET returns it, plus its kind: {"kind":"article","id":"61","slug":...},
// {"kind":"section","slug":"news",...}, {"kind":"block","id":"promo",...}. `updatedAt` is ignored.
import { InvalidInput, PayloadTooLarge, TesseraError } from '../platform/errors.js'
import type { ContentRepository, ImportItem } from './repository.js'
import { fromEcho, validateArticleInput, validateBlockInput, validateId, validateSectionInput } from './validate.js'

export interface ImportLimits {
  lines: number
  lineBytes: number
  requestBytes: number
  batch: number
}

export const IMPORT_LIMITS: Readonly<ImportLimits> = Object.freeze({
  /** Lines per request; the lines after it are not read (the answer says where it stopped). */
  lines: 10_000,
  /** Bytes per line (an article body may be 200 KB). */
  lineBytes: 300 * 1024,
  /** Bytes per request. */
  requestBytes: 64 * 1024 * 1024,
  /** Records per MULTI/EXEC (and per batch event). */
  batch: 200,
})

export interface ImportLineResult {
  line: number
  kind?: 'article' | 'section' | 'block'
  id?: string
  result: 'created' | 'updated' | 'error'
  error?: { code: string; message: string; field?: string }
}

export interface ImportReport {
  lines: number
  created: number
  updated: number
  failed: number
  /** The first line that was not read, when the request went past a limit. */
  stoppedAt?: number
  results: ImportLineResult[]
}

const KINDS = { article: 'id', section: 'slug', block: 'id' } as const

/** One NDJSON line -> a validated import item, or the InvalidInput that says what is wrong with it. */
export function parseImportLine(text: string): ImportItem {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new InvalidInput('line', `is not valid JSON (${(err as Error).message})`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidInput('line', 'must be a JSON object')
  const { kind, ...record } = raw as Record<string, unknown>
  if (typeof kind !== 'string' || !Object.hasOwn(KINDS, kind)) throw new InvalidInput('kind', 'must be one of article, section, block')
  const idField = KINDS[kind as keyof typeof KINDS]
  const id = validateId(idField, record[idField])
  const fields = fromEcho(record, idField, id)
  switch (kind) {
    case 'article':
      return { kind, id, input: validateArticleInput(fields) }
    case 'section':
      return { kind, id, input: validateSectionInput(fields) }
    default:
      return { kind: 'block', id, input: validateBlockInput(fields) }
  }
}

/** Reads `body` line by line (LF or CRLF; blank lines are skipped but counted), validating and writing in batches. */
export async function importNdjson(repo: ContentRepository, body: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, limits: Readonly<ImportLimits> = IMPORT_LIMITS): Promise<ImportReport> {
  const report: ImportReport = { lines: 0, created: 0, updated: 0, failed: 0, results: [] }
  let batch: Array<{ line: number; item: ImportItem }> = []

  const fail = (line: number, error: TesseraError, item?: { kind?: ImportLineResult['kind']; id?: string }) => {
    report.failed++
    report.results.push({ line, ...item, result: 'error', error: error.toJSON().error })
  }
  const flush = async () => {
    if (batch.length === 0) return
    const outcomes = await repo.importBatch(batch.map((b) => b.item))
    outcomes.forEach((outcome, i) => {
      const { line, item } = batch[i]!
      if (outcome.result === 'error') return fail(line, outcome.error, { kind: item.kind, id: item.id })
      report[outcome.result]++
      report.results.push({ line, kind: item.kind, id: item.id, result: outcome.result })
    })
    batch = []
  }
  const take = async (line: number, text: string) => {
    if (text.trim() === '') return
    try {
      batch.push({ line, item: parseImportLine(text) })
    } catch (err) {
      if (!(err instanceof TesseraError)) throw err
      fail(line, err, guessWhat(text))
    }
    if (batch.length >= limits.batch) await flush()
  }

  let pending: Buffer[] = []
  let pendingBytes = 0
  let tooLong = false // the current line is over the limit: skip to its end
  let total = 0
  let line = 0
  const endLine = async () => {
    line++
    if (tooLong) fail(line, new InvalidInput('line', `is longer than ${limits.lineBytes} bytes`))
    else await take(line, Buffer.concat(pending, pendingBytes).toString('utf8').replace(/\r$/, ''))
    pending = []
    pendingBytes = 0
    tooLong = false
  }
  const stop = async (why: string) => {
    await flush()
    report.stoppedAt = line + 1
    report.results.push({ line: line + 1, result: 'error', error: { code: 'TESSERA_IMPORT_LIMIT', message: why } })
    report.failed++
    report.lines = line
    report.results.sort((a, b) => a.line - b.line)
    return report
  }

  for await (const piece of body) {
    let chunk = typeof piece === 'string' ? Buffer.from(piece) : piece
    total += chunk.length
    if (total > limits.requestBytes) return stop(`${new PayloadTooLarge(limits.requestBytes).message}: lines from here on were not read; send them in another request`)
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a)) {
      if (line >= limits.lines) return stop(`a request takes at most ${limits.lines} lines: lines from here on were not read; send them in another request`)
      append(chunk.subarray(0, nl))
      chunk = chunk.subarray(nl + 1)
      await endLine()
    }
    append(chunk)
  }
  if (pendingBytes > 0 || tooLong) {
    if (line >= limits.lines) return stop(`a request takes at most ${limits.lines} lines: lines from here on were not read; send them in another request`)
    await endLine()
  }
  await flush()
  report.lines = line
  report.results.sort((a, b) => a.line - b.line)
  return report

  function append(part: Buffer) {
    if (tooLong || part.length === 0) return
    if (pendingBytes + part.length > limits.lineBytes) {
      tooLong = true
      pending = []
      pendingBytes = 0
      return
    }
    pending.push(part)
    pendingBytes += part.length
  }
}

/** For the report of a line that did not validate: its kind and id, if they can be read at all. */
function guessWhat(text: string): { kind?: ImportLineResult['kind']; id?: string } {
  try {
    const o = JSON.parse(text) as Record<string, unknown>
    const kind = typeof o.kind === 'string' && Object.hasOwn(KINDS, o.kind) ? (o.kind as ImportLineResult['kind']) : undefined
    const id = kind ? o[KINDS[kind!]] : (o.id ?? o.slug)
    return { ...(kind ? { kind } : {}), ...(typeof id === 'string' ? { id: id.slice(0, 64) } : {}) }
  } catch {
    return {}
  }
}
