// One edge node's purge endpoint (the VCL's PURGE), over a keep-alive pool. The status and the purged-object
// count are checked: anything else is a failure the caller queues and retries.
import { Pool } from 'undici'
import { keyHeaderValues } from '../cache/keys.js'
import { EdgeNodeUnreachable, EdgePurgeRejected } from './errors.js'

export type PurgeMode = 'hard' | 'soft'

export interface NodeAck {
  node: string
  status: number
  purged: number
  ms: number
}

export class EdgeClient {
  private readonly pool: Pool

  constructor(
    readonly node: string,
    private readonly secret: string,
    private readonly timeoutMs: number,
  ) {
    this.pool = new Pool(node, { connections: 8, keepAliveTimeout: 30_000, connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
  }

  /**
   * Purges by surrogate keys and/or URLs; resolves with the node's own count of purged objects. sentAtMs: when the
   * purge service sent the purge, the same for every node (the shield tier's race guard, varnish/shield.vcl).
   */
  async purge(target: { keys: string[]; urls: string[] }, mode: PurgeMode, sentAtMs?: number): Promise<NodeAck> {
    const started = performance.now()
    const requests: Array<{ path: string; keys?: string }> = []
    // Split by bytes, as for an object's xkey lines: one header line stays under Varnish's http_req_hdr_len however
    // long the keys (a legacy CMS's may be long).
    for (const keys of keyHeaderValues(target.keys)) requests.push({ path: '/', keys })
    for (const url of target.urls) requests.push({ path: url })
    const sentAt = sentAtMs === undefined ? undefined : (sentAtMs / 1000).toFixed(3)
    const counts = await Promise.all(requests.map((r) => this.send(r.path, mode, r.keys, sentAt)))
    return { node: this.node, status: 200, purged: counts.reduce((a, b) => a + b, 0), ms: Math.round((performance.now() - started) * 10) / 10 }
  }

  private async send(path: string, mode: PurgeMode, keys?: string, sentAt?: string): Promise<number> {
    let response
    try {
      response = await this.pool.request({
        method: 'PURGE',
        path,
        headers: {
          'x-tessera-purge-secret': this.secret,
          'x-tessera-purge-mode': mode,
          ...(keys ? { 'xkey-purge': keys } : {}),
          ...(sentAt ? { 'x-tessera-purge-sent-at': sentAt } : {}),
        },
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (err) {
      throw new EdgeNodeUnreachable(this.node, err)
    }
    const body = await response.body.text()
    const count = Number(response.headers['x-purged-count'])
    if (response.statusCode !== 200 || !Number.isInteger(count)) throw new EdgePurgeRejected(this.node, response.statusCode, body)
    return count
  }

  /** GET through this node (warm-up): the status, or an error. */
  async fetch(path: string): Promise<number> {
    const response = await this.pool.request({ method: 'GET', path, signal: AbortSignal.timeout(this.timeoutMs * 5) })
    await response.body.dump()
    return response.statusCode
  }

  close(): Promise<void> {
    return this.pool.close()
  }
}
