import { TesseraError } from '../platform/errors.js'

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

export class UnknownFragment extends TesseraError {
  readonly code = 'TESSERA_UNKNOWN_FRAGMENT'
  override readonly statusCode = 404
  constructor(name: string, known: readonly string[]) {
    super(`there is no fragment "${name}"; fragments are ${known.join(', ')}`, { field: 'fragment' })
  }
}

export class InvalidTtlFile extends TesseraError {
  readonly code = 'TESSERA_INVALID_TTL_FILE'
  constructor(file: string, problem: string, cause?: unknown) {
    super(`TESSERA_TTL_FILE ${file}: ${problem}; fix the file or unset the variable (see README, "Ops: tuning TTLs")`, { cause })
  }
}
