import { TesseraError } from '../fragments/kit/errors.js'

export class EdgeNodeUnreachable extends TesseraError {
  readonly code = 'TESSERA_EDGE_UNREACHABLE'
  override readonly statusCode = 502
  constructor(node: string, cause: unknown) {
    super(`edge node ${node} did not answer; the purge is queued for it and will be retried`, { cause })
  }
}

export class EdgePurgeRejected extends TesseraError {
  readonly code = 'TESSERA_EDGE_PURGE_REJECTED'
  override readonly statusCode = 502
  constructor(node: string, status: number, body: string) {
    super(`edge node ${node} answered ${status} to a purge (${body.slice(0, 200)}); check the purge secret and ACL of that node; the purge is queued and will be retried`)
  }
}
