// Draft preview tokens: the console issues one to a signed-in editor, the layout service checks it on
// /preview/<path>. A token is `<expiry ms>.<session tag>.<HMAC-SHA256>`: it cannot be forged or extended
// without TESSERA_PREVIEW_SECRET, it dies at its expiry, and it is bound to the console session that asked
// for it (the session tag, a hash of the session id, must still have its grant in Redis: signing out ends it).
import { createHash, createHmac } from 'node:crypto'
import type { Redis } from 'ioredis'
import { safeEqual } from './service.js'

/** How long a preview token is good for. */
export const PREVIEW_TOKEN_SECONDS = 15 * 60

const TOKEN = /^(\d{13})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/

/** The session's tag: what a token names instead of the session id (a token travels in URLs). */
export const sessionTag = (sessionId: string): string => createHash('sha256').update(sessionId).digest('base64url').slice(0, 22)

/** Present while the session may preview: written when a token is issued, removed when the session ends. */
export const previewGrantKey = (tag: string): string => `tessera:console:preview-grant:${tag}`

const mac = (secret: string, expires: number, tag: string) => createHmac('sha256', secret).update(`tessera-preview.${expires}.${tag}`).digest('base64url')

export interface PreviewToken {
  token: string
  expiresAt: Date
}

/** A token for the session, and its grant (kept as long as the session may live). */
export async function issuePreviewToken(redis: Redis, secret: string, sessionId: string, sessionSeconds: number, now = new Date()): Promise<PreviewToken> {
  const tag = sessionTag(sessionId)
  const expires = now.getTime() + PREVIEW_TOKEN_SECONDS * 1000
  await redis.set(previewGrantKey(tag), '1', 'EX', sessionSeconds)
  return { token: `${expires}.${tag}.${mac(secret, expires, tag)}`, expiresAt: new Date(expires) }
}

export async function endPreviewGrant(redis: Redis, sessionId: string): Promise<void> {
  await redis.del(previewGrantKey(sessionTag(sessionId)))
}

/** Why a token does not open a preview, or undefined when it does. */
export async function previewTokenRefusal(redis: Redis, secret: string, token: unknown, now = new Date()): Promise<string | undefined> {
  if (typeof token !== 'string' || token === '') return 'a preview needs the token the console gives (?token=...)'
  const m = TOKEN.exec(token)
  if (!m) return 'that is not a preview token'
  const [, expiresRaw, tag, sent] = m as unknown as [string, string, string, string]
  const expires = Number(expiresRaw)
  if (!safeEqual(sent, mac(secret, expires, tag))) return 'that preview token is not valid'
  if (expires <= now.getTime()) return 'that preview token has expired: ask the console for a new one'
  if (expires > now.getTime() + PREVIEW_TOKEN_SECONDS * 1000) return 'that preview token is not valid'
  if ((await redis.exists(previewGrantKey(tag))) === 0) return 'the console session that asked for this preview has ended'
  return undefined
}
