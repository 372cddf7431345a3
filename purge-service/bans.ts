// Bans (POST /bans): the expressions a URL prefix or regex becomes, for the edge's objects and for the page
// tier's assembled copies, and their sending to every node through its admin CLI.
import { readFile } from 'node:fs/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { EDGE_KEY_PREFIXES } from '../cache/keys.js'
import { InvalidInput } from '../platform/errors.js'
import { banTokens, InvalidBan, VarnishCli } from '../varnish-cli/varnish-cli.js'
import type { PurgeApiDeps } from './app.js'
import { edgeEntries } from './edges-api.js'

export function registerBanRoutes(app: FastifyInstance, deps: PurgeApiDeps, who: (request: FastifyRequest) => string): void {
  app.post('/bans', async (request, reply) => {
    const role = who(request)
    const body = request.body as Record<string, unknown> | null
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInput('body', 'must be {"prefix": "/path/"} or {"regex": "..."}')
    const fields = Object.keys(body)
    if (fields.length !== 1 || (fields[0] !== 'prefix' && fields[0] !== 'regex')) throw new InvalidInput('body', 'must be exactly one of {"prefix": "/path/"} or {"regex": "..."}')
    const kind = fields[0] as 'prefix' | 'regex'
    const expression = banExpressionForUrl(kind, body[kind] as string)
    // The page tier's copies at a banned URL or including one go too (rule 1 of the page tier, varnish/tier.vcl).
    const pageTierExpression = banExpressionForPageTier(kind, body[kind] as string)
    banTokens(expression) // refuses here, as a 400, what varnishd's CLI could not carry
    banTokens(pageTierExpression)
    const secret = await readFile(deps.adminSecretFile)
    const banNode = async (node: string, tier: 'shield' | 'edge', admin: { host: string; port: number } | undefined) => {
      const started = performance.now()
      try {
        if (!admin) throw Object.assign(new Error(`no admin address configured for ${node}`), { code: 'TESSERA_BAN_FAILED' })
        const cli = await VarnishCli.connect({ ...admin, secret, timeoutMs: 2000 })
        try {
          await cli.ban(expression)
          await cli.ban(pageTierExpression)
        } finally {
          await cli.close()
        }
        return { node, tier, ok: true, ms: Math.round(performance.now() - started) }
      } catch (err) {
        return { node, tier, ok: false, error: { code: (err as { code?: string }).code ?? 'TESSERA_BAN_FAILED', message: (err as Error).message } }
      }
    }
    // The shields first, as for purges: an edge that refetches a banned object must not find it at its shield.
    const shields = await Promise.all(deps.purger.shieldNodes.map((node, i) => banNode(node, 'shield', deps.shieldAdmins?.[i])))
    const live = (await edgeEntries(deps)).filter((e) => e.state !== 'removed')
    const edges = await Promise.all(live.map((e) => banNode(e.url, 'edge', e.admin)))
    const nodes = [...shields, ...edges]
    const complete = nodes.every((n) => n.ok)
    // Every node runs the same varnishd: if they all refused the expression (106), the input was at fault.
    const refused = nodes.filter((n) => !n.ok && /answered 106/.test(n.error?.message ?? ''))
    if (!complete && refused.length === nodes.filter((n) => !n.ok).length && refused.length === nodes.length) {
      throw new InvalidBan('regex', `varnishd refused it: ${refused[0].error?.message}`)
    }
    request.log.info({ who: role, expression, pageTierExpression, complete }, 'ban')
    return reply.code(complete ? 200 : 502).send({ expression, pageTierExpression, complete, nodes })
  })
}

const MAX_BAN_VALUE = 256
const PREFIX_CHARS = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$/

/**
 * A lurker-friendly ban (obj.* only) on `obj.http.x-url`, which our VCL copies from req.url into the object.
 * `prefix`: a site path such as `/news/2024/`, turned into an anchored regex with metacharacters escaped.
 * `regex`: used as given, after checks. Anything that could smuggle another condition is refused.
 */
export function banExpressionForUrl(kind: 'prefix' | 'regex', value: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidBan(kind, 'must be a non-empty string')
  if (value.length > MAX_BAN_VALUE) throw new InvalidBan(kind, `must be at most ${MAX_BAN_VALUE} characters`)
  if (kind === 'prefix') {
    if (!PREFIX_CHARS.test(value)) {
      throw new InvalidBan('prefix', 'must be a site path starting with "/" made of URL characters (no spaces, quotes or backslashes)')
    }
    if (/%(?![0-9A-Fa-f]{2})/.test(value)) throw new InvalidBan('prefix', '"%" must start a %XX escape')
    if (value.includes('&&')) throw new InvalidBan('prefix', 'must not contain "&&"')
    return `obj.http.x-url ~ ^${value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')}`
  }
  if (kind !== 'regex') throw new InvalidBan('kind', 'must be "prefix" or "regex"')
  // eslint-disable-next-line no-control-regex
  if (/[\s"\u0000-\u001f\u007f]/.test(value)) throw new InvalidBan('regex', 'must not contain whitespace, control characters or double quotes')
  // varnishd compiles bans with PCRE2, not JavaScript's engine: only the syntax both read alike is accepted.
  if (value.includes('(?')) throw new InvalidBan('regex', 'must not use (?...) groups (lookarounds, named groups, flags)')
  const escape = /\\(.)/g
  for (let m = escape.exec(value); m; m = escape.exec(value)) {
    if (!'.^$*+?()[]{}|/\\-dDwWsSbB'.includes(m[1])) throw new InvalidBan('regex', `the escape \\${m[1]} is not supported; escape only metacharacters, or use \\d \\w \\s \\b`)
  }
  if (value === '<<') throw new InvalidBan('regex', '"<<" cannot be a ban argument (varnishd reads it as a here-document)')
  try {
    new RegExp(value)
  } catch (err) {
    throw new InvalidBan('regex', `does not compile: ${(err as Error).message}`)
  }
  return `obj.http.x-url ~ ${value}`
}

/**
 * The ban that goes with a URL ban, for the page tier's copies of assembled pages (varnish/tier.vcl, marked by
 * X-Tessera-Assembly). A copy carries no x-url: its surrogate keys (one xkey line) name its own URL
 * (page-url:<URL>) and each include's (inc:<URL>), "," written %2C, so the URL ban's pattern is applied to those
 * keys: `^` at its start becomes the start of such a key, `$` at its end the key's end, and an unanchored pattern
 * may match anywhere in a key's URL. (A regex whose `.` runs across keys bans more copies than it names, never
 * fewer: a banned copy is only assembled again.)
 */
export function banExpressionForPageTier(kind: 'prefix' | 'regex', value: string): string {
  const urlBan = banExpressionForUrl(kind, value) // validates
  let pattern = urlBan.slice('obj.http.x-url ~ '.length)
  if (kind === 'prefix') pattern = pattern.replaceAll(',', '%2C')
  const keyStart = `(^|\\s)(${EDGE_KEY_PREFIXES.pageUrl.slice(0, -1)}|${EDGE_KEY_PREFIXES.include.slice(0, -1)}):`
  pattern = pattern.startsWith('^') ? `${keyStart}${pattern.slice(1)}` : `${keyStart}\\S*${pattern}`
  if (pattern.endsWith('$') && !pattern.endsWith('\\$')) pattern = `${pattern.slice(0, -1)}(\\s|$)`
  return `obj.http.X-Tessera-Assembly ~ ^${EDGE_KEY_PREFIXES.assembly} && obj.http.xkey ~ ${pattern}`
}
