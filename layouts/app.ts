// The layout service: page shells whose <esi:include>s the edge resolves. It knows every include URL it
// writes, and tags each shell with the keys of what the shell itself shows (title, section heading).
import type { FastifyInstance } from 'fastify'
import { addCachedRoute, type FragmentDeps } from '../fragments/kit/app.js'
import { loadTemplates } from '../platform/html.js'
import { type CachePolicy, fixedPolicy, PURGED_ON_EDIT_POLICY } from '../cache/policy.js'
import { createService } from '../platform/service.js'
import type { Rendered } from '../fragments/kit/fragment.js'
import type { ContentRepository } from '../content/repository.js'
import { registerPreview } from './preview.js'
import { articleKey, articleSlugKey, hubKey, isPublished, sectionKey } from '../cache/content-keys.js'
import { hubIsShown, hubModuleInclude, hubNextChange } from '../fragments/sections/hub-modules.js'
import { slotInclude } from '../fragments/sections/fragment.js'
import type { BlockScope, BlockSlot } from '../content/model.js'

const templates = loadTemplates('layouts/templates')
const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/
export const SHELL_POLICY: CachePolicy = PURGED_ON_EDIT_POLICY
const shellPolicy = fixedPolicy(SHELL_POLICY)

export interface Shell {
  layout: 'home' | 'article' | 'section' | 'hub' | 'not-found'
  title: string
  heading?: string
  description?: string
  /** What the page's main column includes; every page has the nav and sidebar includes. */
  main: string[]
  /**
   * The scopes whose blocks the page shows besides the site's, in this order after them, each slot its own
   * include: a section page its section's; an article page its section's and its own.
   */
  blockScopes?: BlockScope[]
}

/** Each (slot, scope) a page shows: the site's first, then the page's own scopes. */
export const blockIncludes = (slot: BlockSlot, scopes: BlockScope[]): string[] => ['site' as const, ...scopes].map((scope) => slotInclude(slot, scope))

/** The shell's html and the URL of every include in it (the page tier measures them: varnish/tier.vcl). */
export function renderShell(shell: Shell): { html: string; includes: string[] } {
  const scopes = shell.blockScopes ?? []
  const includes = {
    header: ['/fragments/nav', ...blockIncludes('nav', scopes)],
    main: shell.main,
    aside: ['/fragments/sidebar', ...blockIncludes('sidebar', scopes)],
  }
  return { html: templates.page({ ...shell, includes }), includes: [...includes.header, ...includes.main, ...includes.aside] }
}

/** The main slot's blocks of these scopes (the site's main slot is the home page's). */
const mainBlocks = (scopes: BlockScope[]): string[] => scopes.map((scope) => slotInclude('main', scope))

const notFoundShell = (what: string) =>
  renderShell({ layout: 'not-found', title: 'Page not found', heading: 'Page not found', description: `We could not find ${what}. It may have moved or been unpublished.`, main: [] })

/** A page the layout serves: its route, and its shell as readers see it, or as a draft preview shows it. */
export interface LayoutPage {
  key: string
  path: string
  notFound: () => Pick<Rendered, 'html' | 'includes'>
  render: (params: Record<string, string>, now: Date, preview: boolean) => Promise<Rendered>
}

const checkSlug = ({ slug }: Record<string, string>) => (slug === undefined || SLUG.test(slug) ? undefined : 'bad slug')

export function layoutPages(content: ContentRepository): LayoutPage[] {
  return [
    {
      key: 'layout:home',
      path: '/',
      notFound: () => notFoundShell('this page'),
      render: async () => ({ ...renderShell({ layout: 'home', title: 'Tessera Magazine', main: ['/fragments/sections/main', '/fragments/article/front/latest'] }), keys: [] }),
    },
    {
      key: 'layout:article',
      path: '/articles/:slug',
      notFound: () => notFoundShell('that article'),
      render: async ({ slug }, now, preview) => {
        const article = await content.getArticleBySlug(slug!)
        if (article === undefined || (!preview && !isPublished(article, now))) {
          // Tagged so that publishing an article under this slug replaces the cached 404 at once.
          return { status: 404, ...notFoundShell('that article'), keys: [articleSlugKey(slug!)] }
        }
        const blockScopes: BlockScope[] = [`section:${article.section}`, `article:${article.id}`]
        return {
          ...renderShell({ layout: 'article', title: article.title, description: article.summary, main: [`/fragments/article/${article.id}`, ...mainBlocks(blockScopes)], blockScopes }),
          // The shell shows the title, the summary and its section's blocks (includes); the body is an include of its own.
          keys: [articleKey('head', article.id), articleSlugKey(slug!)],
        }
      },
    },
    {
      key: 'layout:section',
      path: '/sections/:slug',
      notFound: () => notFoundShell('that section'),
      render: async ({ slug }) => {
        const section = await content.getSection(slug!)
        if (!section) return { status: 404, ...notFoundShell('that section'), keys: [sectionKey(slug!)] }
        return {
          ...renderShell({
            layout: 'section',
            title: section.title,
            heading: section.title,
            description: section.description,
            main: [...mainBlocks([`section:${slug}`]), `/fragments/article/front/section-${slug}`],
            blockScopes: [`section:${slug}`],
          }),
          keys: [sectionKey(slug!)],
        }
      },
    },
    {
      key: 'layout:hub',
      path: '/hubs/:slug',
      notFound: () => notFoundShell('that page'),
      render: async ({ slug }, now, preview) => {
        const hub = await content.getHub(slug!)
        // A draft, or out of its schedule, is a 404 until it is shown (the TTL is clamped to that moment).
        if (!hub || (!preview && !hubIsShown(hub, now))) return { status: 404, ...notFoundShell('that page'), keys: [hubKey(slug!)], nextChange: hub && hubNextChange(hub, now) }
        return {
          ...renderShell({ layout: 'hub', title: hub.title, heading: hub.title, description: hub.description, main: hub.modules.map((_, n) => hubModuleInclude(slug!, n)) }),
          keys: [hubKey(slug!)],
          nextChange: hubNextChange(hub, now),
        }
      },
    },
  ]
}

export interface LayoutDeps extends FragmentDeps {
  /** Checks draft preview tokens (TESSERA_PREVIEW_SECRET); without it /preview/ answers 403. */
  previewSecret?: string
}

export function buildLayoutApp(deps: LayoutDeps): FastifyInstance {
  const app = createService({ name: 'layout', logLevel: deps.logLevel })
  const fallback = () =>
    renderShell({ layout: 'not-found', title: 'Temporarily unavailable', heading: 'Temporarily unavailable', description: 'This page cannot be shown right now. Please try again in a moment.', main: [] }).html
  const pages = layoutPages(deps.content)
  for (const page of pages) {
    addCachedRoute(app, { key: page.key, path: page.path, policy: shellPolicy, esi: true, checkParams: checkSlug, notFound: page.notFound, fallback, render: (params, now) => page.render(params, now, false) }, deps)
  }
  registerPreview(app, { content: deps.content, redis: deps.redis, secret: deps.previewSecret, pages, now: deps.now })
  return app
}
