// The web console at /console, for editors and ops: pages rendered here with Handlebars, a small script
// (browser.ts) for search, preview, purge, the live audit log and inline policy edits.
//
// Every figure and every action goes through the purge service's own API routes (app.inject with the token
// of the session's role, which never leaves the server): the preview is POST /purges/preview, a purge is
// POST /purges (the Purger), edge health is GET /edges, policies are /policies (with their validation), the
// charts are GET /stats. The console adds the session, CSRF and role checks, and turns API errors into words.
import { readFile } from 'node:fs/promises'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Hub } from '../../content/model.js'
import { ContentRepository } from '../../content/repository.js'
import { loadTemplates } from '../../platform/html.js'
import { endPreviewGrant, issuePreviewToken } from '../../platform/preview-token.js'
import { safeEqual } from '../../platform/service.js'
import type { PurgeApiDeps } from '../app.js'
import { barChart } from './charts.js'
import { ConsoleSessions, cookiesOf, randomToken, SESSION_COOKIE, SESSION_SECONDS, setCookie, SIGN_IN_COOKIE, type ConsoleRole, type ConsoleSession } from './session.js'

type ConsoleDeps = Pick<PurgeApiDeps, 'redis' | 'editorToken' | 'opsToken' | 'previewSecret' | 'siteUrl'>

const templates = loadTemplates('purge-service/console')
const browserScript = new URL('./browser.js', import.meta.url)

interface ApiAnswer {
  status: number
  json: unknown
}

interface ApiError {
  error?: { code?: string; message?: string; field?: string }
}

/** An API error in plain words, for a page rendered on the server. */
const wordsOf = (what: string, answer: ApiAnswer) => {
  const error = (answer.json as ApiError)?.error
  return `${what} failed (${answer.status}): ${error?.message ?? 'no answer from the service'}`
}

export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): void {
  const sessions = new ConsoleSessions(deps.redis)
  const content = new ContentRepository(deps.redis)
  const tokenOf = (role: ConsoleRole) => (role === 'ops' ? deps.opsToken : deps.editorToken) ?? ''

  /** Calls one of this service's API routes as the session's role. */
  const api = async (role: ConsoleRole, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<ApiAnswer> => {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${tokenOf(role)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      payload: body !== undefined ? JSON.stringify(body) : undefined,
    })
    let json: unknown
    try {
      json = res.body ? JSON.parse(res.body) : undefined
    } catch {
      json = { error: { code: 'TESSERA_CONSOLE_BAD_ANSWER', message: res.body.slice(0, 200) } }
    }
    return { status: res.statusCode, json }
  }

  const page = (reply: FastifyReply, status: number, view: string, context: Record<string, unknown>) => {
    const body = templates[view]!(context)
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
      .header('x-frame-options', 'DENY')
      .type('text/html; charset=utf-8')
      .send(templates.layout!({ ...context, body }))
  }

  const signInPage = (reply: FastifyReply, status: number, error?: string) => {
    const csrf = randomToken()
    setCookie(reply, SIGN_IN_COOKIE, csrf, 600)
    return page(reply, status, 'sign-in', { title: 'Sign in', csrf, error })
  }

  const refuse = (reply: FastifyReply, status: number, code: string, message: string) => reply.code(status).send({ error: { code, message } })

  /** The session for an API call, or an answer (401 / 403) already sent. */
  const sessionFor = async (request: FastifyRequest, reply: FastifyReply, options: { ops?: boolean; editor?: boolean; changes?: boolean }): Promise<ConsoleSession | undefined> => {
    const session = await sessions.of(request)
    if (!session) {
      refuse(reply, 401, 'TESSERA_CONSOLE_SIGNED_OUT', 'you are signed out (or the session expired): sign in again')
      return undefined
    }
    if (options.changes) {
      const sent = request.headers['x-csrf-token']
      if (typeof sent !== 'string' || !safeEqual(sent, session.csrf)) {
        refuse(reply, 403, 'TESSERA_CONSOLE_CSRF', 'this request did not carry the console\'s CSRF token; reload the page and try again')
        return undefined
      }
    }
    if (options.ops && session.role !== 'ops') {
      refuse(reply, 403, 'TESSERA_FORBIDDEN', 'this is for ops: sign in with the ops token')
      return undefined
    }
    // Content is written with the editor's role, as the content API takes only the editor token.
    if (options.editor && session.role !== 'editor') {
      refuse(reply, 403, 'TESSERA_FORBIDDEN', 'editing content is for editors: sign in with the editor token')
      return undefined
    }
    return session
  }

  const forward = (reply: FastifyReply, answer: ApiAnswer) => reply.code(answer.status).send(answer.json)

  app.register(async (scope) => {
    // The sign-in and sign-out forms post application/x-www-form-urlencoded, which fastify does not parse.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)))
    })

    scope.get('/console', async (request, reply) => {
      const session = await sessions.of(request)
      if (!session) return signInPage(reply, 200)
      const audit = await api(session.role, 'GET', '/purges?limit=20')
      return page(reply, 200, 'editor', {
        title: 'Purge content',
        session,
        ops: session.role === 'ops',
        purges: audit.status === 200 ? (audit.json as { purges: unknown[] }).purges : [],
        auditError: audit.status === 200 ? undefined : wordsOf('Loading the audit log', audit),
      })
    })

    scope.post('/console/sign-in', async (request, reply) => {
      const form = (request.body ?? {}) as Record<string, string>
      const expected = cookiesOf(request)[SIGN_IN_COOKIE]
      if (!expected || typeof form.csrf !== 'string' || !safeEqual(form.csrf, expected)) {
        return signInPage(reply, 403, 'The sign-in form had expired or did not come from this console. Please try again.')
      }
      const token = typeof form.token === 'string' ? form.token.trim() : ''
      const role: ConsoleRole | undefined =
        deps.opsToken && safeEqual(token, deps.opsToken) ? 'ops' : safeEqual(token, deps.editorToken) ? 'editor' : undefined
      if (!role) return signInPage(reply, 401, 'That token is neither the editor token nor the ops token.')
      const session = await sessions.create(role)
      setCookie(reply, SIGN_IN_COOKIE, '', 0)
      setCookie(reply, SESSION_COOKIE, session.id, SESSION_SECONDS)
      request.log.info({ role }, 'console sign-in')
      return reply.code(303).header('location', role === 'ops' ? '/console/ops' : '/console').send()
    })

    scope.post('/console/sign-out', async (request, reply) => {
      const session = await sessions.of(request)
      const form = (request.body ?? {}) as Record<string, string>
      if (session) {
        if (typeof form.csrf !== 'string' || !safeEqual(form.csrf, session.csrf)) {
          return refuse(reply, 403, 'TESSERA_CONSOLE_CSRF', 'the sign-out form did not carry the console\'s CSRF token')
        }
        await sessions.end(session.id)
        await endPreviewGrant(deps.redis, session.id) // its preview tokens stop working with it
      }
      setCookie(reply, SESSION_COOKIE, '', 0)
      return reply.code(303).header('location', '/console').send()
    })

    // ---- hub pages and block scope: the content store's own writes, validated as the content API's
    scope.get('/console/hubs', async (request, reply) => {
      const session = await sessions.of(request)
      if (!session) return reply.code(303).header('location', '/console').send()
      const [hubs, blocks] = await Promise.all([content.listHubs(), content.listBlocks()])
      return page(reply, 200, 'hubs', {
        title: 'Hub pages and blocks',
        session,
        ops: session.role === 'ops',
        hubs: hubs.map((h) => ({ ...h, modules: h.modules.length, state: hubState(h) })),
        blocks: blocks.map((b) => ({ ...b, scope: b.scope ?? 'site' })),
      })
    })

    scope.get('/console/hubs/:slug', async (request, reply) => {
      const session = await sessions.of(request)
      if (!session) return reply.code(303).header('location', '/console').send()
      const { slug } = request.params as { slug: string }
      if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(slug)) return page(reply, 404, 'forbidden', { title: 'No such hub', session, message: 'A hub slug is 1-64 of a-z, 0-9 and "-".' })
      return page(reply, 200, 'hub', { title: `Hub ${slug}`, session, ops: session.role === 'ops', slug, siteUrl: deps.siteUrl ?? '' })
    })

    scope.get('/console/api/hubs/:slug', async (request, reply) => {
      if (!(await sessionFor(request, reply, {}))) return reply
      const { slug } = request.params as { slug: string }
      const hub = await content.getHub(slug)
      return hub ?? refuse(reply, 404, 'TESSERA_NOT_FOUND', `there is no hub ${slug} yet: compose it and save`)
    })

    scope.put('/console/api/hubs/:slug', async (request, reply) => {
      if (!(await sessionFor(request, reply, { editor: true, changes: true }))) return reply
      const { slug } = request.params as { slug: string }
      const saved = await content.putHub(slug, request.body)
      return reply.code(saved.created ? 201 : 200).send(saved.record)
    })

    scope.delete('/console/api/hubs/:slug', async (request, reply) => {
      if (!(await sessionFor(request, reply, { editor: true, changes: true }))) return reply
      const { slug } = request.params as { slug: string }
      return (await content.deleteHub(slug)) ? reply.code(204).send() : refuse(reply, 404, 'TESSERA_NOT_FOUND', `there is no hub ${slug}`)
    })

    scope.put('/console/api/blocks/:id/scope', async (request, reply) => {
      if (!(await sessionFor(request, reply, { editor: true, changes: true }))) return reply
      const { id } = request.params as { id: string }
      const { scope: blockScope } = (request.body ?? {}) as { scope?: unknown }
      return (await content.patchBlock(id, { scope: blockScope === undefined ? null : blockScope })).record
    })

    scope.get('/console/ops', async (request, reply) => {
      const session = await sessions.of(request)
      if (!session) return reply.code(303).header('location', '/console').send()
      if (session.role !== 'ops') {
        return page(reply, 403, 'forbidden', { title: 'Ops only', session, message: 'The ops view is for ops. You are signed in with the editor token.' })
      }
      const [policies, edges, stats] = await Promise.all([
        api('ops', 'GET', '/policies'),
        api('ops', 'GET', '/edges'),
        api('ops', 'GET', '/stats'),
      ])
      return page(reply, 200, 'ops', {
        title: 'Ops',
        session,
        ops: true,
        policies: policies.status === 200 ? (policies.json as { policies: unknown[] }).policies : [],
        policiesError: policies.status === 200 ? undefined : wordsOf('Loading the policies', policies),
        edges: edges.status === 200 ? (edges.json as { edges: unknown[] }).edges.map(edgeRow) : [],
        edgesError: edges.status === 200 ? undefined : wordsOf('Loading the edge nodes', edges),
        ...(stats.status === 200 ? charts(stats.json as StatsAnswer) : { statsError: wordsOf('Loading the cache statistics', stats) }),
      })
    })

    scope.get('/console/console.js', async (_request, reply) => {
      const source = await readFile(browserScript, 'utf8')
      return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(source)
    })

    scope.get('/console/api/search', async (request, reply) => {
      if (!(await sessionFor(request, reply, {}))) return reply
      const q = (request.query as Record<string, unknown>).q
      if (typeof q !== 'string' || q.trim() === '') return refuse(reply, 400, 'TESSERA_INVALID_INPUT', 'type part of a title, slug or id to search for')
      return { hits: await content.search(q, 50) }
    })

    scope.post('/console/api/preview', async (request, reply) => {
      const session = await sessionFor(request, reply, { changes: true })
      return session ? forward(reply, await api(session.role, 'POST', '/purges/preview', request.body)) : reply
    })

    // A short-lived token for /preview/<path> at the edge, bound to this session (platform/preview-token.ts).
    scope.post('/console/api/preview-token', async (request, reply) => {
      const session = await sessionFor(request, reply, { changes: true })
      if (!session) return reply
      if (!deps.previewSecret) return refuse(reply, 503, 'TESSERA_PREVIEW_NOT_CONFIGURED', 'previews are not configured (TESSERA_PREVIEW_SECRET)')
      const issued = await issuePreviewToken(deps.redis, deps.previewSecret, session.id, SESSION_SECONDS)
      return { token: issued.token, expiresAt: issued.expiresAt.toISOString() }
    })

    scope.post('/console/api/purges', async (request, reply) => {
      const session = await sessionFor(request, reply, { changes: true })
      return session ? forward(reply, await api(session.role, 'POST', '/purges', request.body)) : reply
    })

    scope.get('/console/api/purges', async (request, reply) => {
      const session = await sessionFor(request, reply, {})
      return session ? forward(reply, await api(session.role, 'GET', '/purges?limit=20')) : reply
    })

    scope.get('/console/api/edges', async (request, reply) => {
      const session = await sessionFor(request, reply, { ops: true })
      return session ? forward(reply, await api('ops', 'GET', '/edges')) : reply
    })

    scope.put('/console/api/policies/:fragment', async (request, reply) => {
      const session = await sessionFor(request, reply, { ops: true, changes: true })
      const { fragment } = request.params as { fragment: string }
      return session ? forward(reply, await api('ops', 'PUT', `/policies/${encodeURIComponent(fragment)}`, request.body)) : reply
    })

    scope.delete('/console/api/policies/:fragment', async (request, reply) => {
      const session = await sessionFor(request, reply, { ops: true, changes: true })
      const { fragment } = request.params as { fragment: string }
      return session ? forward(reply, await api('ops', 'DELETE', `/policies/${encodeURIComponent(fragment)}`)) : reply
    })
  })
}

function hubState(hub: Hub): string {
  const now = Date.now()
  if (hub.draft) return 'draft'
  if (hub.startsAt && Date.parse(hub.startsAt) > now) return `scheduled from ${hub.startsAt}`
  if (hub.endsAt && Date.parse(hub.endsAt) <= now) return `ended ${hub.endsAt}`
  return hub.endsAt ? `published until ${hub.endsAt}` : 'published'
}

interface EdgeAnswer {
  node: string
  pending: number
  lagMs: number
  lastError?: string
  admin: { address?: string; reachable: boolean; error?: string; backends?: Array<{ name: string; health: string }> }
}

const edgeRow = (raw: unknown) => {
  const e = raw as EdgeAnswer
  const sick = (e.admin.backends ?? []).filter((b) => !/healthy/i.test(b.health) || /sick/i.test(b.health))
  return {
    ...e,
    healthy: e.admin.reachable && sick.length === 0,
    health: !e.admin.reachable
      ? `admin port not reachable: ${e.admin.error ?? 'no answer'}`
      : sick.length === 0
        ? `healthy (${e.admin.backends?.length ?? 0} backends)`
        : `sick backends: ${sick.map((b) => b.name).join(', ')}`,
  }
}

interface KindAnswer {
  window?: { hits: number; graceHits: number; misses: number; passes: number; originFetchMsP50: number | null }
}

interface StatsAnswer {
  windowSeconds: number
  edges: Array<{ node: string; fragments: Record<string, KindAnswer> }>
}

/** Per fragment over the stats window, every edge node together: hit ratio and the slowest node's median fetch. */
function charts(stats: StatsAnswer) {
  const names = [...new Set(stats.edges.flatMap((e) => Object.keys(e.fragments)))].sort()
  const ratio = names.map((name) => {
    let hits = 0
    let all = 0
    for (const e of stats.edges) {
      const w = e.fragments[name]?.window
      if (!w) continue
      hits += w.hits + w.graceHits
      all += w.hits + w.graceHits + w.misses + w.passes
    }
    const value = all === 0 ? null : hits / all
    return { label: name, value, text: value === null ? '' : `${Math.round(value * 100)}% of ${all}` }
  })
  const fetch = names.map((name) => {
    const times = stats.edges.map((e) => e.fragments[name]?.window?.originFetchMsP50).filter((v): v is number => typeof v === 'number')
    const value = times.length === 0 ? null : Math.max(...times)
    return { label: name, value, text: value === null ? '' : `${value.toFixed(1)} ms` }
  })
  return {
    windowMinutes: Math.round(stats.windowSeconds / 60),
    hitRatioChart: barChart('hit ratio per fragment', ratio, 1),
    fetchTimeChart: barChart('median origin fetch time per fragment', fetch),
  }
}
