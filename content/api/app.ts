// The content API editors and the CMS write through. Every route needs the editor bearer token; the check runs
// before the body is read, so an unauthenticated request changes nothing and costs nothing.
//
// Concurrency: every GET of a record answers a strong ETag; PUT, PATCH and DELETE honour If-Match (412 with the
// current ETag when it does not match, nothing written) and If-None-Match (`*`: create only). Without them the
// last write wins, as before. The conditions are checked by the repository under WATCH (race-free).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { InvalidInput, NotFound, UnsupportedMediaType } from '../../platform/errors.js'
import { createService, requireBearer } from '../../platform/service.js'
import { BLOCK_SLOTS, type BlockSlot } from '../model.js'
import { etagOf, type ContentRepository, type Preconditions, type PutResult } from '../repository.js'
import { importNdjson } from '../import.js'
import { intParam, validateId } from '../validate.js'

export const CONTENT_API_BODY_LIMIT = 256 * 1024
const MAX_PAGE = 100
const MAX_QUERY_CHARS = 200

export interface ContentApiDeps {
  repo: ContentRepository
  editorToken: string
  logLevel?: string
}

type Params = Record<string, string | undefined>
type Query = Record<string, unknown>

export function buildContentApi(deps: ContentApiDeps): FastifyInstance {
  if (!deps.editorToken) throw new Error('buildContentApi needs an editorToken (TESSERA_EDITOR_TOKEN); refusing to serve an unprotected content API')
  const { repo } = deps
  const app = createService({ name: 'content', logLevel: deps.logLevel, bodyLimit: CONTENT_API_BODY_LIMIT })

  // RFC 7396 merge patches are JSON: the same parser (and its prototype-poisoning refusals) as application/json.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'))

  // POST /import reads its NDJSON body as a stream, line by line (content/import.ts has the limits).
  app.addContentTypeParser(['application/x-ndjson', 'application/ndjson'], (_request, payload, done) => done(null, payload))

  app.register(async (api) => {
    api.addHook('onRequest', async (request) => {
      requireBearer(request, [deps.editorToken], 'the content API')
    })
    // PATCH takes only merge patches: a plain JSON body could be a whole record sent to the wrong method.
    api.addHook('preValidation', async (request) => {
      if (request.method === 'PATCH' && mediaType(request) !== 'application/merge-patch+json') {
        throw new UnsupportedMediaType(`PATCH takes a JSON merge patch (RFC 7396): send it as Content-Type: application/merge-patch+json${mediaType(request) ? `, not ${mediaType(request)}` : ''}`)
      }
    })

    // ---- articles
    api.get('/articles', async (request) => {
      const q = request.query as Query
      const limit = intParam('limit', single('limit', q.limit), 1, MAX_PAGE, 20)
      const cursor = single('cursor', q.cursor)
      if (cursor !== undefined) {
        if (q.offset !== undefined) throw new InvalidInput('offset', 'give either cursor or offset, not both')
        const page = await repo.listArticles({ cursor, limit })
        return { items: page.items, total: page.total, limit, next: page.next }
      }
      const offset = intParam('offset', single('offset', q.offset), 0, 10_000_000, 0)
      const page = await repo.listArticles({ offset, limit })
      return { items: page.items, total: page.total, offset, limit, next: page.next }
    })
    api.get('/articles/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return found(request, reply, await repo.getArticle(id), `article ${id}`)
    })
    api.put('/articles/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return saved(reply, await repo.putArticle(id, request.body, preconditions(request)))
    })
    api.patch('/articles/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return saved(reply, await repo.patchArticle(id, request.body, preconditions(request)))
    })
    api.delete('/articles/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return deleted(reply, await repo.deleteArticle(id, preconditions(request)), `article ${id}`)
    })

    // ---- sections
    api.get('/sections', async () => ({ items: await repo.listSections() }))
    api.get('/sections/:slug', async (request, reply) => {
      const slug = validateId('slug', (request.params as Params).slug)
      return found(request, reply, await repo.getSection(slug), `section ${slug}`)
    })
    api.put('/sections/:slug', async (request, reply) => {
      const slug = validateId('slug', (request.params as Params).slug)
      return saved(reply, await repo.putSection(slug, request.body, preconditions(request)))
    })
    api.patch('/sections/:slug', async (request, reply) => {
      const slug = validateId('slug', (request.params as Params).slug)
      return saved(reply, await repo.patchSection(slug, request.body, preconditions(request)))
    })
    api.delete('/sections/:slug', async (request, reply) => {
      const slug = validateId('slug', (request.params as Params).slug)
      return deleted(reply, await repo.deleteSection(slug, preconditions(request)), `section ${slug}`)
    })

    // ---- blocks
    api.get('/blocks', async (request) => {
      const raw = single('slot', (request.query as Query).slot)
      if (raw !== undefined && !(BLOCK_SLOTS as readonly string[]).includes(raw)) {
        throw new InvalidInput('slot', `must be one of ${BLOCK_SLOTS.join(', ')}`)
      }
      return { items: await repo.listBlocks(raw as BlockSlot | undefined) }
    })
    api.get('/blocks/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return found(request, reply, await repo.getBlock(id), `block ${id}`)
    })
    api.put('/blocks/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return saved(reply, await repo.putBlock(id, request.body, preconditions(request)))
    })
    api.patch('/blocks/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return saved(reply, await repo.patchBlock(id, request.body, preconditions(request)))
    })
    api.delete('/blocks/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return deleted(reply, await repo.deleteBlock(id, preconditions(request)), `block ${id}`)
    })

    // ---- hub pages
    api.get('/hubs', async () => ({ items: await repo.listHubs() }))
    api.get('/hubs/:slug', async (request, reply) => {
      const slug = validateId('slug', (request.params as Params).slug)
      return found(request, reply, await repo.getHub(slug), `hub ${slug}`)
    })
    api.put('/hubs/:slug', async (request, reply) => {
      const slug = validateId('slug', (request.params as Params).slug)
      return saved(reply, await repo.putHub(slug, request.body, preconditions(request)))
    })
    api.delete('/hubs/:slug', async (request, reply) => {
      const slug = validateId('slug', (request.params as Params).slug)
      return deleted(reply, await repo.deleteHub(slug, preconditions(request)), `hub ${slug}`)
    })

    // ---- nav
    api.get('/nav', async (request, reply) => found(request, reply, await repo.getNav(), 'nav'))
    api.put('/nav', async (request, reply) => saved(reply, await repo.putNav(request.body, preconditions(request))))

    // ---- bulk import
    api.post('/import', async (request) => {
      const body = request.body as AsyncIterable<Buffer> | undefined
      if (body === undefined || body === null || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
        throw new UnsupportedMediaType('POST /import takes NDJSON (one record per line): send it as Content-Type: application/x-ndjson')
      }
      return importNdjson(repo, body)
    })

    // ---- editor console search
    api.get('/search', async (request) => {
      const q = request.query as Query
      const text = single('q', q.q)?.trim()
      if (!text || text.length > MAX_QUERY_CHARS) throw new InvalidInput('q', `must be 1-${MAX_QUERY_CHARS} characters`)
      const limit = intParam('limit', single('limit', q.limit), 1, MAX_PAGE, 20)
      return { items: await repo.search(text, limit) }
    })
  })

  return app
}

function saved<T>(reply: FastifyReply, result: PutResult<T>): T {
  reply.code(result.created ? 201 : 200).header('etag', result.etag)
  return result.record
}

/** A record with its ETag; 304 when the client's If-None-Match already names it. */
function found<T extends object>(request: FastifyRequest, reply: FastifyReply, record: T | undefined, what: string): T | FastifyReply {
  if (record === undefined) throw new NotFound(what)
  const etag = etagOf(record)
  reply.header('etag', etag)
  const ifNoneMatch = entityTags(request, 'if-none-match')
  if (ifNoneMatch !== undefined && (ifNoneMatch === '*' || ifNoneMatch.includes(etag))) return reply.code(304).send()
  return record
}

/** If-Match / If-None-Match of a write, as the repository's Preconditions. */
function preconditions(request: FastifyRequest): Preconditions | undefined {
  const ifMatch = entityTags(request, 'if-match')
  const ifNoneMatch = entityTags(request, 'if-none-match')
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined
  return { ...(ifMatch !== undefined ? { ifMatch } : {}), ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}) }
}

const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e]*)"$/

/**
 * `*` or the list of entity tags of a conditional header (RFC 9110 13.1). If-Match compares strongly (a weak
 * tag never matches); If-None-Match weakly (W/"x" is "x").
 */
function entityTags(request: FastifyRequest, header: 'if-match' | 'if-none-match'): '*' | string[] | undefined {
  const raw = request.headers[header]
  if (raw === undefined) return undefined
  const value = (Array.isArray(raw) ? raw.join(',') : raw).trim()
  if (value === '*') return '*'
  const tags: string[] = []
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = ENTITY_TAG.exec(part)
    if (!m) throw new InvalidInput(header, `must be * or a list of entity tags as an ETag header gives them (e.g. "${'abc'}"), got ${JSON.stringify(part.slice(0, 80))}`)
    if (m[1] === undefined || header === 'if-none-match') tags.push(`"${m[2]}"`)
  }
  if (tags.length === 0 && !value.includes('W/')) throw new InvalidInput(header, 'must be * or a list of entity tags')
  return tags
}

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
}

function deleted(reply: FastifyReply, existed: boolean, what: string): FastifyReply {
  if (!existed) throw new NotFound(what)
  return reply.code(204).send()
}

/** A query parameter given at most once (`?limit=1&limit=2` is refused rather than guessed). */
function single(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw new InvalidInput(field, 'must be given once')
  return value
}
