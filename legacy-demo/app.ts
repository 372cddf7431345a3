// A simulated legacy CMS (issue 16's demo): slow renders, an occasional 500 that asks to be cached, a hang now
// and then, a few routes of its own (/video/..., /slideshows/..., the old /sections/..., an archive of /stories/N), a login with a
// PHPSESSID session, Surrogate-Key headers, and one page (/video/) that includes Tessera's nav by ESI.
// The edge is what makes it bearable (varnish/legacy.vcl). GET /_legacy/stats counts what it rendered.
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { seededRandom } from '../platform/random.js'
import { createService } from '../platform/service.js'
import type { LegacyDemoConfig } from './config.js'

export const VIDEOS = ['harbour-at-dawn', 'city-council-live', 'football-highlights', 'weather-week', 'market-day', 'night-ferry']
/** The CMS's own id of the first video (node:<nid>); the others follow in VIDEOS order. */
export const VIDEO_NODE_BASE = 101
const SLIDESHOWS = ['old-town-in-snow', 'festival-faces', 'lighthouses']
const SECTIONS = ['news', 'sport', 'culture', 'business']

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function page(title: string, main: string, options: { esiNav?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · Tessera Magazine (legacy CMS)</title></head>
<body data-cms="legacy">
${options.esiNav ? '<esi:include src="/fragments/nav"/>' : '<nav data-legacy-nav><a href="/">Home</a> <a href="/video/">Video</a></nav>'}
<main><h1>${escape(title)}</h1>
${main}
</main>
<footer>Rendered by the legacy CMS at ${new Date().toISOString()}</footer>
</body></html>
`
}

export interface LegacyStats {
  /** Page renders started (faults included), per route kind. */
  renders: number
  errors: number
  hangs: number
  byPath: Record<string, number>
}

export function buildLegacyDemoApp(config: LegacyDemoConfig, options: { logLevel?: string } = {}): FastifyInstance & { legacyStats: LegacyStats } {
  const app = createService({ name: 'legacy-demo', logLevel: options.logLevel }) as FastifyInstance & { legacyStats: LegacyStats }
  const random = seededRandom(config.seed)
  const stats: LegacyStats = { renders: 0, errors: 0, hangs: 0, byPath: {} }
  app.legacyStats = stats
  const sessions = new Map<string, string>()

  /** The legacy's render: slow, sometimes failing, sometimes stuck. Returns false when it answered an error. */
  async function render(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    stats.renders++
    const path = request.url.split('?')[0]
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1
    const roll = random()
    if (roll < config.hangRate) {
      stats.hangs++
      await sleep(config.hangMs)
    }
    await sleep(config.renderMs)
    if (roll >= config.hangRate && roll < config.hangRate + config.errorRate) {
      stats.errors++
      // The fire: an error page that asks to be cached for ten minutes.
      reply.code(500).header('cache-control', 'public, max-age=600').type('text/html; charset=utf-8')
        .send(page('Internal Server Error', '<p>Database connection lost.</p>'))
      return false
    }
    return true
  }

  const sessionOf = (request: FastifyRequest): string | undefined => {
    const m = /(?:^|;\s*)PHPSESSID=([A-Za-z0-9]+)/.exec(request.headers.cookie ?? '')
    return m ? sessions.get(m[1]) : undefined
  }

  app.get('/_legacy/stats', async () => stats)

  // The one page that already shows Tessera's nav, by ESI: the first step of a migration.
  app.get('/video/', async (request, reply) => {
    if (!(await render(request, reply))) return reply
    const list = VIDEOS.map((v) => `<li><a href="/video/${v}">${escape(v.replace(/-/g, ' '))}</a></li>`).join('\n')
    return reply
      .header('cache-control', 'public, s-maxage=60')
      .header('surrogate-control', 'content="ESI/1.0"')
      .header('surrogate-key', 'videos video-index')
      .type('text/html; charset=utf-8')
      .send(page('Video', `<ul>\n${list}\n</ul>`, { esiNav: true }))
  })

  app.get<{ Params: { slug: string } }>('/video/:slug', async (request, reply) => {
    if (!VIDEOS.includes(request.params.slug)) return reply.code(404).type('text/html; charset=utf-8').send(page('Not found', '<p>No such video.</p>'))
    if (!(await render(request, reply))) return reply
    const user = sessionOf(request)
    return reply
      .header('cache-control', 'public, s-maxage=300')
      // Keys as a CMS names them (Drupal-style cache tags: node:<nid>, node_list), not in Tessera's form.
      .header('surrogate-key', `videos video-${request.params.slug} node:${VIDEO_NODE_BASE + VIDEOS.indexOf(request.params.slug)} node_list`)
      .type('text/html; charset=utf-8')
      .send(page(request.params.slug.replace(/-/g, ' '), `<video src="/media/${request.params.slug}.mp4" controls></video>${user ? `<p class="account">Signed in as ${escape(user)}</p>` : ''}`))
  })

  // The legacy says nothing about caching here: the edge applies the route's defaults.
  app.get<{ Params: { slug: string } }>('/slideshows/:slug', async (request, reply) => {
    if (!SLIDESHOWS.includes(request.params.slug)) return reply.code(404).type('text/html; charset=utf-8').send(page('Not found', '<p>No such slideshow.</p>'))
    if (!(await render(request, reply))) return reply
    return reply.type('text/html; charset=utf-8').send(page(request.params.slug.replace(/-/g, ' '), '<ol><li>Slide one</li><li>Slide two</li><li>Slide three</li></ol>'))
  })

  // The archive: old stories nobody edits any more, read with a long tail of popularity.
  app.get<{ Params: { n: string } }>('/stories/:n', async (request, reply) => {
    const n = Number(request.params.n)
    if (!/^[1-9][0-9]*$/.test(request.params.n) || n > config.stories) return reply.code(404).type('text/html; charset=utf-8').send(page('Not found', '<p>No such story.</p>'))
    if (!(await render(request, reply))) return reply
    return reply
      .header('cache-control', 'public, s-maxage=600')
      .header('surrogate-key', `stories story-${n}`)
      .type('text/html; charset=utf-8')
      .send(page(`Story ${n} from the archive`, `<p>An old story, number ${n}, as the legacy CMS renders it.</p>`))
  })

  // The old section pages, which Tessera's /sections/:slug replaces (the README's walk-through moves the route).
  app.get<{ Params: { slug: string } }>('/sections/:slug', async (request, reply) => {
    if (!(await render(request, reply))) return reply
    return reply
      .header('cache-control', 'public, s-maxage=120')
      .header('surrogate-key', `legacy-section-${request.params.slug.replace(/[^a-z0-9-]/g, '')}`)
      .type('text/html; charset=utf-8')
      .send(page(`Section ${request.params.slug} (legacy)`, `<p>The legacy CMS's ${escape(request.params.slug)} front. Sections: ${SECTIONS.join(', ')}.</p>`))
  })

  // Logged-in readers: a session cookie, personal pages.
  app.post('/login', async (_request, reply) => {
    const id = randomBytes(12).toString('hex')
    sessions.set(id, 'reader')
    return reply.header('set-cookie', `PHPSESSID=${id}; Path=/; HttpOnly`).header('cache-control', 'private, no-store').redirect('/account', 303)
  })

  app.get('/account', async (request, reply) => {
    if (!(await render(request, reply))) return reply
    const user = sessionOf(request)
    return reply.header('cache-control', 'private, no-store').type('text/html; charset=utf-8')
      .send(page('Your account', user ? `<p class="account">Signed in as ${escape(user)}</p>` : '<form method="post" action="/login"><button>Sign in</button></form>'))
  })

  return app
}
