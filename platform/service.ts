// The service kit every Tessera process uses: fastify with JSON errors, request ids, health, Prometheus metrics
// and clean shutdown.
import { randomUUID, timingSafeEqual } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { PayloadTooLarge, TesseraError, Unauthorized } from './errors.js'
import { createLogger, type Logger } from './log.js'
import { addMetrics } from './metrics.js'
import { storeError } from './redis.js'

export interface ServiceOptions {
  name: string
  logLevel?: string
  /** A logger to share with non-HTTP parts of the process; by default one is made for `name`. */
  logger?: Logger
  bodyLimit?: number
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export function createService(options: ServiceOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger ?? createLogger(options.name, options.logLevel),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // A page's request id travels to its fragment fetches (Varnish copies the client's headers to ESI subrequests).
    genReqId: (req) => {
      const incoming = req.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    },
    return503OnClosing: true,
    // fastify's own refusals (a bad %-escape, an over-long path parameter, an unknown method) in our error shape
    frameworkErrors: (error, _request, reply) => {
      const status = (error as { statusCode?: number }).statusCode ?? 400
      const plain = reply as unknown as { code(n: number): { send(body: unknown): void } }
      plain.code(status < 500 ? status : 400).send({ error: { code: `TESSERA_${error.code ?? 'BAD_REQUEST'}`, message: error.message } })
    },
    // Malformed HTTP below fastify (oversized headers, broken framing): a clean JSON 4xx, then close.
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (!socket.writable) return socket.destroy()
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW'
      const body = JSON.stringify({ error: { code: tooLarge ? 'TESSERA_HEADERS_TOO_LARGE' : 'TESSERA_BAD_REQUEST', message: tooLarge ? 'request headers are too large' : 'malformed HTTP request' } })
      socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    },
  })

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })

  const bodyLimit = options.bodyLimit ?? 1024 * 1024
  app.setErrorHandler((caught: Error & { statusCode?: number; code?: string }, request, reply) => {
    // Redis down or failing over reaches any handler as an ioredis error: a 503 with a stable code, not a 500.
    const error = caught.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? new PayloadTooLarge(bodyLimit) : (storeError(caught) as typeof caught)
    if (error instanceof TesseraError) {
      if (error.statusCode >= 500) request.log.error({ err: error, code: error.code }, error.message)
      if (error.headers) reply.headers(error.headers)
      return reply.code(error.statusCode).send(error.toJSON())
    }
    const status = error.statusCode ?? 500
    if (status < 500) {
      // fastify's own 4xx: malformed JSON, wrong content type, body too large
      return reply.code(status).send({ error: { code: `TESSERA_${error.code ?? 'BAD_REQUEST'}`, message: error.message } })
    }
    request.log.error({ err: error }, 'unhandled error')
    return reply.code(500).send({ error: { code: 'TESSERA_INTERNAL', message: 'internal error; see the service log for the request id' } })
  })

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { code: 'TESSERA_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } })
  })

  // Probed every second by each edge node: not worth a log line.
  app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok', service: options.name }))
  // GET /metrics (Prometheus text); the edge does not pass it on to readers (varnish/routing.vcl).
  addMetrics(app as unknown as FastifyInstance, options.name)
  // Typed as the default instance: our pino Logger is a FastifyBaseLogger, but the generic parameter differs.
  return app as unknown as FastifyInstance
}

/** Constant-time check of `Authorization: Bearer <token>`; throws Unauthorized otherwise. */
export function requireBearer(request: FastifyRequest, tokens: Array<string | undefined>, what?: string): string {
  const header = request.headers.authorization
  const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : ''
  for (const token of tokens) {
    if (token && safeEqual(presented, token)) return token
  }
  throw new Unauthorized(what)
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Listen, and close cleanly on SIGTERM/SIGINT (in-flight requests finish, then `onClose` hooks run). */
export async function serve(app: FastifyInstance, host: string, port: number): Promise<void> {
  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    app.log.info({ signal }, 'shutting down')
    const force = setTimeout(() => process.exit(1), 10_000)
    force.unref()
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, 'error while closing')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  await app.listen({ host, port })
}
