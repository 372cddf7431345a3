import { pino, type Logger } from 'pino'

/** Structured JSON logs (pino), one `service` field per process; fastify uses the same logger. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({ level, base: { service } })
}

export type { Logger }
