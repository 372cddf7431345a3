// Console sessions: a random id in an HttpOnly, SameSite=Strict cookie; the role and the CSRF token kept in
// Redis under that id with an expiry. Signing out deletes the key; nothing about the role lives in the browser.
import { randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'

export type ConsoleRole = 'editor' | 'ops'

export interface ConsoleSession {
  id: string
  role: ConsoleRole
  /** Sent back by every state-changing form or call (hidden field or `x-csrf-token`); checked here, server-side. */
  csrf: string
}

export const SESSION_COOKIE = 'tessera_console'
/** Double-submit token for the sign-in form, before there is a session. */
export const SIGN_IN_COOKIE = 'tessera_console_signin'
export const SESSION_SECONDS = 8 * 60 * 60

const sessionKey = (id: string) => `tessera:console:session:${id}`
const ID = /^[A-Za-z0-9_-]{43}$/

export const randomToken = (): string => randomBytes(32).toString('base64url')

export function cookiesOf(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=')
    if (at > 0) out[part.slice(0, at).trim()] = part.slice(at + 1).trim()
  }
  return out
}

export function setCookie(reply: FastifyReply, name: string, value: string, maxAge: number): void {
  const cookie = `${name}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`
  const prior = reply.getHeader('set-cookie')
  reply.header('set-cookie', [...(Array.isArray(prior) ? prior : prior ? [String(prior)] : []), cookie])
}

export class ConsoleSessions {
  constructor(private readonly redis: Redis) {}

  async create(role: ConsoleRole): Promise<ConsoleSession> {
    const session = { id: randomToken(), role, csrf: randomToken() }
    await this.redis.set(sessionKey(session.id), JSON.stringify({ role, csrf: session.csrf }), 'EX', SESSION_SECONDS)
    return session
  }

  /** The request's session, or undefined (no cookie, unknown or expired id). */
  async of(request: FastifyRequest): Promise<ConsoleSession | undefined> {
    const id = cookiesOf(request)[SESSION_COOKIE]
    if (!id || !ID.test(id)) return undefined
    const raw = await this.redis.get(sessionKey(id))
    if (!raw) return undefined
    const { role, csrf } = JSON.parse(raw) as { role: ConsoleRole; csrf: string }
    return { id, role, csrf }
  }

  async end(id: string): Promise<void> {
    await this.redis.del(sessionKey(id))
  }
}
