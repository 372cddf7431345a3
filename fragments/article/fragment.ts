import { articleKey, FRONT_LENGTH, isPublished, listKeys, sectionList, sectionTitleKey } from '../../cache/content-keys.js'
import { defineFragment } from '../kit/fragment.js'
import { loadTemplates } from '../../platform/html.js'

const templates = loadTemplates('fragments/article/templates')
const ID = /^[a-z0-9][a-z0-9-]{0,63}$/

/**
 * The article body (`/fragments/article/:id`) and the article lists of fronts:
 * `/fragments/article/front/latest` (home) and `/fragments/article/front/section-<slug>`.
 */
export const article = defineFragment({
  name: 'article',
  routes: ['/fragments/article/:id', '/fragments/article/front/:list'],
  checkParams: (params) => {
    if (params.id !== undefined && !ID.test(params.id)) return 'bad article id'
    if (params.list !== undefined && !/^(latest|section-[a-z0-9][a-z0-9-]{0,63})$/.test(params.list)) return 'bad list'
    return undefined
  },
  policy: { ttl: 600, staleWhileRevalidate: 120, staleIfError: 86_400 },
  fallback: () => '<article data-fragment="article" data-fragment-state="unavailable"><p>This article is temporarily unavailable. Please try again in a moment.</p></article>',
  async render({ content, params, now, preview }) {
    if (params.list !== undefined) {
      const section = params.list === 'latest' ? undefined : params.list.slice('section-'.length)
      const articles = await content.listLatest(FRONT_LENGTH, section ? { section } : undefined)
      return {
        html: templates.front({ articles }),
        // What a teaser shows, and where each sits in its list (purge-service/keys-for-event.ts)
        keys: listKeys(section ? sectionList(section) : 'latest', FRONT_LENGTH, articles, 'teaser'),
      }
    }
    const found = await content.getArticle(params.id)
    if (found === undefined || (!preview && !isPublished(found, now))) {
      return { status: 404, html: '<article data-fragment="article" data-fragment-state="not-found"></article>', keys: [articleKey('body', params.id)] }
    }
    const section = await content.getSection(found.section)
    return {
      html: templates.article({ article: found, section }),
      // The body shows its section's title only: a move between sections or a new front does not touch it.
      keys: [articleKey('body', found.id), sectionTitleKey(found.section)],
    }
  },
})
