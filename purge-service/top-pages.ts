// The most-read pages of the edge nodes on this machine (GET /stats/top; the warm-up of a joining node): what
// each node's shared log still holds, its recent traffic, read once with varnishtop when asked. Only readers'
// page deliveries count (varnish/stats.vcl's page records, answered 200; ESI includes are not top-level
// requests): warming a page through a node's front fetches its includes too.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const exec = promisify(execFile)
const PAGE_DELIVERED = 'VCL_Log ~ "^tessera-stats: page [a-z]+ [a-z]+ 200"'

export interface PageReads {
  url: string
  reads: number
}

/** `varnishtop -1` output: "  123.00 ReqURL /articles/a-1" per line. */
export function parseTopLines(text: string): PageReads[] {
  const out: PageReads[] = []
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+(?:\.\d+)?)\s+ReqURL\s+(\/\S*)\s*$/.exec(line)
    if (m) out.push({ url: m[2]!, reads: Number(m[1]) })
  }
  return out
}

/** Reads per page URL at one node (its varnishd work dir). */
export async function pageReadsAt(workDir: string, timeoutMs = 10_000): Promise<PageReads[]> {
  const { stdout } = await exec('varnishtop', ['-n', workDir, '-1', '-c', '-i', 'ReqURL', '-q', PAGE_DELIVERED, '-t', '5'], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })
  return parseTopLines(stdout)
}

/** The `limit` most-read pages over these nodes together, most read first; a node that cannot be read is skipped. */
export async function topPages(workDirs: string[], limit: number): Promise<{ pages: PageReads[]; nodesRead: number; errors: string[] }> {
  const reads = new Map<string, number>()
  const errors: string[] = []
  let nodesRead = 0
  for (const result of await Promise.allSettled(workDirs.map((dir) => pageReadsAt(dir)))) {
    if (result.status === 'rejected') {
      errors.push(String((result.reason as Error).message).split('\n')[0]!)
      continue
    }
    nodesRead++
    for (const { url, reads: n } of result.value) reads.set(url, (reads.get(url) ?? 0) + n)
  }
  const pages = [...reads].map(([url, n]) => ({ url, reads: n })).sort((a, b) => b.reads - a.reads || a.url.localeCompare(b.url))
  return { pages: pages.slice(0, limit), nodesRead, errors }
}
