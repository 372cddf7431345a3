// The layout service: page shells whose <esi:include>s the edge resolves. It knows every include URL it
// writes, and tags each shell with the keys of what the shell itself shows (title, section heading).
import type { FastifyInstance } from 'fastify'
import { addCachedRoute, type FragmentDeps } from '../fragments/kit/app.js'
import { loadTemplates } from '../fragments/kit/html.js'
import { type CachePolicy, fixedPolicy } from '../fragments/kit/policy.js'
import { createService } from '../fragments/kit/service.js'
import { isPublished } from '../fragments/article/fragment.js'
import { articleKey, articleSlugKey, sectionKey } from '../fragments/kit/content-keys.js'

const templates = loadTemplates('layouts/templates')
const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/
export const SHELL_POLICY: CachePolicy = { ttl: 3600, grace: 60, keep: 86_400 }
const shellPolicy = fixedPolicy(SHELL_POLICY)

export interface Shell {
  layout: 'home' | 'article' | 'section' | 'not-found'
  title: string
  heading?: string
  description?: string
  /** What the page's main column includes; every page has the same header and sidebar includes. */
  main: string[]
}

const HEADER_INCLUDES = ['/fragments/nav', '/fragments/sections/nav']
const ASIDE_INCLUDES = ['/fragments/sidebar', '/fragments/sections/sidebar']

/** The shell's html and the URL of every include in it (the page tier measures them: varnish/tier.vcl). */
export function renderShell(shell: Shell): { html: string; includes: string[] } {
  const includes = { header: HEADER_INCLUDES, main: shell.main, aside: ASIDE_INCLUDES }
  return { html: templates.page({ ...shell, includes }), includes: [...includes.header, ...includes.main, ...includes.aside] }
}

const notFoundShell = (what: string) =>
  renderShell({ layout: 'not-found', title: 'Page not found', heading: 'Page not found', description: `We could not find ${what}. It may have moved or been unpublished.`, main: [] })

export function buildLayoutApp(deps: FragmentDeps): FastifyInstance {
  const app = createService({ name: 'layout', logLevel: deps.logLevel })
  const { content } = deps
  const fallback = () =>
    renderShell({ layout: 'not-found', title: 'Temporarily unavailable', heading: 'Temporarily unavailable', description: 'This page cannot be shown right now. Please try again in a moment.', main: [] }).html

  addCachedRoute(
    app,
    {
      key: 'layout:home',
      path: '/',
      policy: shellPolicy,
      esi: true,
      notFound: () => notFoundShell('this page'),
      fallback,
      render: async () => ({ ...renderShell({ layout: 'home', title: 'Tessera Magazine', main: ['/fragments/sections/main', '/fragments/article/front/latest'] }), keys: [] }),
    },
    deps,
  )

  addCachedRoute(
    app,
    {
      key: 'layout:article',
      path: '/articles/:slug',
      policy: shellPolicy,
      esi: true,
      checkParams: ({ slug }) => (SLUG.test(slug) ? undefined : 'bad slug'),
      notFound: () => notFoundShell('that article'),
      fallback,
      render: async ({ slug }, now) => {
        const article = await content.getArticleBySlug(slug)
        if (!isPublished(article, now)) {
          // Tagged so that publishing an article under this slug replaces the cached 404 at once.
          return { status: 404, ...notFoundShell('that article'), keys: [articleSlugKey(slug)] }
        }
        return {
          ...renderShell({ layout: 'article', title: article.title, description: article.summary, main: [`/fragments/article/${article.id}`] }),
          // The shell shows the title and the summary; the body is an include of its own.
          keys: [articleKey('head', article.id), articleSlugKey(slug)],
        }
      },
    },
    deps,
  )

  addCachedRoute(
    app,
    {
      key: 'layout:section',
      path: '/sections/:slug',
      policy: shellPolicy,
      esi: true,
      checkParams: ({ slug }) => (SLUG.test(slug) ? undefined : 'bad slug'),
      notFound: () => notFoundShell('that section'),
      fallback,
      render: async ({ slug }) => {
        const section = await content.getSection(slug)
        if (!section) return { status: 404, ...notFoundShell('that section'), keys: [sectionKey(slug)] }
        return {
          ...renderShell({ layout: 'section', title: section.title, heading: section.title, description: section.description, main: [`/fragments/article/front/section-${slug}`] }),
          keys: [sectionKey(slug)],
        }
      },
    },
    deps,
  )
  return app
}
