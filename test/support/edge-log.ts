// The edge's own log records (varnish/stats.vcl's tessera-stats, retry.vcl's tessera-retry, fallback.vcl's
// tessera-fallback), read with varnishlog through the node's work dir while a test runs.
import { spawn } from 'node:child_process'
import type { EdgeNode } from '../../scripts/stack/stack.js'

export interface EdgeLogWatch {
  /** Every VCL_Log record so far, as `tessera-...: ...` text. */
  readonly lines: string[]
  count(pattern: RegExp): number
  /** Waits until records written before the call have been read, then stops varnishlog. */
  stop(): Promise<string[]>
}

export async function watchEdgeLog(edge: EdgeNode): Promise<EdgeLogWatch> {
  const child = spawn('varnishlog', ['-n', edge.workDir, '-g', 'raw', '-i', 'VCL_Log'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  let partial = ''
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) {
      const m = line.match(/VCL_Log\s+[bc-]\s+(tessera-.*)$/)
      if (m) lines.push(m[1])
    }
  })
  const exited = new Promise((r) => child.once('exit', r))
  // varnishlog starts reading at the log's head: give it a moment to attach before the test acts.
  await new Promise((r) => setTimeout(r, 500))
  return {
    lines,
    count: (pattern) => lines.filter((l) => pattern.test(l)).length,
    async stop() {
      await new Promise((r) => setTimeout(r, 1500))
      child.kill('SIGTERM')
      await exited
      return lines
    },
  }
}
