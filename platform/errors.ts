// One class per failure, each with a stable `code`; messages say what was wrong and what to do.

export abstract class TesseraError extends Error {
  abstract readonly code: string
  /** HTTP status an API answers with when this error reaches it. */
  readonly statusCode: number = 500
  readonly field?: string
  /** Response headers that belong to this answer (e.g. the current ETag of a 412). */
  readonly headers?: Record<string, string>

  constructor(message: string, options?: { cause?: unknown; field?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.field = options?.field
  }

  toJSON(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } }
  }
}

export class InvalidInput extends TesseraError {
  readonly code = 'TESSERA_INVALID_INPUT'
  override readonly statusCode = 400
  constructor(field: string, message: string) {
    super(`${field}: ${message}`, { field })
  }
}

export class NotFound extends TesseraError {
  readonly code = 'TESSERA_NOT_FOUND'
  override readonly statusCode = 404
  constructor(what: string) {
    super(`${what} does not exist`)
  }
}

export class Unauthorized extends TesseraError {
  readonly code = 'TESSERA_UNAUTHORIZED'
  override readonly statusCode = 401
  constructor(what = 'this endpoint') {
    super(`${what} needs "Authorization: Bearer <token>" with the configured token`)
  }
}

export class Forbidden extends TesseraError {
  readonly code = 'TESSERA_FORBIDDEN'
  override readonly statusCode = 403
}

export class PayloadTooLarge extends TesseraError {
  readonly code = 'TESSERA_PAYLOAD_TOO_LARGE'
  override readonly statusCode = 413
  constructor(limitBytes: number) {
    super(`request body is larger than ${limitBytes} bytes; send less per request`)
  }
}

export class UnsupportedMediaType extends TesseraError {
  readonly code = 'TESSERA_UNSUPPORTED_MEDIA_TYPE'
  override readonly statusCode = 415
  constructor(message: string) {
    super(message, { field: 'content-type' })
  }
}

export class Conflict extends TesseraError {
  readonly code = 'TESSERA_CONFLICT'
  override readonly statusCode = 409
  constructor(message: string, field?: string) {
    super(message, { field })
  }
}

/** A conditional write (If-Match / If-None-Match) whose condition does not hold: 412, with the current ETag. */
export class PreconditionFailed extends TesseraError {
  readonly code = 'TESSERA_PRECONDITION_FAILED'
  override readonly statusCode = 412
  override readonly headers: Record<string, string>
  constructor(what: string, header: 'if-match' | 'if-none-match', current: string | undefined) {
    super(
      current === undefined
        ? `${what} does not exist, so ${header === 'if-match' ? 'If-Match' : 'If-None-Match'} does not hold; nothing was written`
        : header === 'if-match'
          ? `${what} changed since you read it (its ETag is now ${current}); nothing was written: GET it again, re-apply your change and send the new ETag in If-Match`
          : `${what} already exists (ETag ${current}) and If-None-Match forbids overwriting it; nothing was written`,
      { field: header },
    )
    this.headers = current === undefined ? {} : { etag: current }
  }
}

export class StoreUnavailable extends TesseraError {
  readonly code = 'TESSERA_STORE_UNAVAILABLE'
  override readonly statusCode = 503
  constructor(cause: unknown) {
    super('the content store (Redis) did not answer; retry shortly', { cause })
  }
}

/**
 * The primary applied a write but too few replicas confirmed it in time (WAIT): it stands now, and is lost if the
 * primary fails before a replica copies it. The answer says so, and what to do.
 */
export class StoreNotReplicated extends TesseraError {
  readonly code = 'TESSERA_STORE_NOT_REPLICATED'
  override readonly statusCode = 503
  constructor(what: string, wanted: number, reached: number, timeoutMs: number) {
    super(
      `${what} reached the Redis primary, but ${reached} of the ${wanted} replica(s) it must reach confirmed it within ${timeoutMs} ms, ` +
        'so it may or may not survive a failover: send the same request again (it is safe to repeat) once the store is healthy, or read the record back to see what stands',
    )
  }
}

export class InvalidConfig extends TesseraError {
  readonly code = 'TESSERA_INVALID_CONFIG'
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}\nfix these environment variables (see README, "Configuration")`)
  }
}
