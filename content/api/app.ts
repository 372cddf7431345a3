// The content API editors and the CMS write through. Every route needs the editor bearer token; the check runs
// before the body is read, so an unauthenticated request changes nothing and costs nothing.
import type { FastifyInstance, FastifyReply } from 'fastify'
import { InvalidInput, NotFound } from '../../fragments/kit/errors.js'
import { createService, requireBearer } from '../../fragments/kit/service.js'
import { BLOCK_SLOTS, type BlockSlot } from '../model.js'
import type { ContentRepository, PutResult } from '../repository.js'
import { intParam, validateArticleInput, validateBlockInput, validateId, validateNavInput, validateSectionInput } from '../validate.js'

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

  app.register(async (api) => {
    api.addHook('onRequest', async (request) => {
      requireBearer(request, [deps.editorToken], 'the content API')
    })

    // ---- articles
    api.get('/articles', async (request) => {
      const q = request.query as Query
      const offset = intParam('offset', single('offset', q.offset), 0, 10_000_000, 0)
      const limit = intParam('limit', single('limit', q.limit), 1, MAX_PAGE, 20)
      const page = await repo.listArticles({ offset, limit })
      return { items: page.items, total: page.total, offset, limit }
    })
    api.get('/articles/:id', async (request) => {
      const id = validateId('id', (request.params as Params).id)
      return (await repo.getArticle(id)) ?? notFound(`article ${id}`)
    })
    api.put('/articles/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return saved(reply, await repo.putArticle(id, validateArticleInput(request.body)))
    })
    api.delete('/articles/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return deleted(reply, await repo.deleteArticle(id), `article ${id}`)
    })

    // ---- sections
    api.get('/sections', async () => ({ items: await repo.listSections() }))
    api.get('/sections/:slug', async (request) => {
      const slug = validateId('slug', (request.params as Params).slug)
      return (await repo.getSection(slug)) ?? notFound(`section ${slug}`)
    })
    api.put('/sections/:slug', async (request, reply) => {
      const slug = validateId('slug', (request.params as Params).slug)
      return saved(reply, await repo.putSection(slug, validateSectionInput(request.body)))
    })
    api.delete('/sections/:slug', async (request, reply) => {
      const slug = validateId('slug', (request.params as Params).slug)
      return deleted(reply, await repo.deleteSection(slug), `section ${slug}`)
    })

    // ---- blocks
    api.get('/blocks', async (request) => {
      const raw = single('slot', (request.query as Query).slot)
      if (raw !== undefined && !(BLOCK_SLOTS as readonly string[]).includes(raw)) {
        throw new InvalidInput('slot', `must be one of ${BLOCK_SLOTS.join(', ')}`)
      }
      return { items: await repo.listBlocks(raw as BlockSlot | undefined) }
    })
    api.get('/blocks/:id', async (request) => {
      const id = validateId('id', (request.params as Params).id)
      return (await repo.getBlock(id)) ?? notFound(`block ${id}`)
    })
    api.put('/blocks/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return saved(reply, await repo.putBlock(id, validateBlockInput(request.body)))
    })
    api.delete('/blocks/:id', async (request, reply) => {
      const id = validateId('id', (request.params as Params).id)
      return deleted(reply, await repo.deleteBlock(id), `block ${id}`)
    })

    // ---- nav
    api.get('/nav', async () => (await repo.getNav()) ?? notFound('nav'))
    api.put('/nav', async (request, reply) => saved(reply, await repo.putNav(validateNavInput(request.body))))

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
  reply.code(result.created ? 201 : 200)
  return result.record
}

function deleted(reply: FastifyReply, existed: boolean, what: string): FastifyReply {
  if (!existed) throw new NotFound(what)
  return reply.code(204).send()
}

function notFound(what: string): never {
  throw new NotFound(what)
}

/** A query parameter given at most once (`?limit=1&limit=2` is refused rather than guessed). */
function single(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw new InvalidInput(field, 'must be given once')
  return value
}
