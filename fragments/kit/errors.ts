// One class per failure, each with a stable `code`; messages say what was wrong and what to do.

export abstract class TesseraError extends Error {
  abstract readonly code: string
  /** HTTP status an API answers with when this error reaches it. */
  readonly statusCode: number = 500
  readonly field?: string

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

export class Conflict extends TesseraError {
  readonly code = 'TESSERA_CONFLICT'
  override readonly statusCode = 409
  constructor(message: string, field?: string) {
    super(message, { field })
  }
}

export class StoreUnavailable extends TesseraError {
  readonly code = 'TESSERA_STORE_UNAVAILABLE'
  override readonly statusCode = 503
  constructor(cause: unknown) {
    super('the content store (Redis) did not answer; retry shortly', { cause })
  }
}

export class InvalidConfig extends TesseraError {
  readonly code = 'TESSERA_INVALID_CONFIG'
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}\nfix these environment variables (see README, "Configuration")`)
  }
}
