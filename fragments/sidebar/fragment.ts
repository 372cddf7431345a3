import { listKeys, SIDEBAR_LENGTH } from '../../cache/content-keys.js'
import { defineFragment } from '../kit/fragment.js'
import { loadTemplates } from '../../platform/html.js'

const templates = loadTemplates('fragments/sidebar/templates')

export const sidebar = defineFragment({
  name: 'sidebar',
  routes: ['/fragments/sidebar'],
  policy: { ttl: 120, staleWhileRevalidate: 30, staleIfError: 86_400 },
  fallback: () => '<aside data-fragment="sidebar" data-fragment-state="unavailable"></aside>',
  async render({ content }) {
    const [latest, popular] = await Promise.all([content.listLatest(SIDEBAR_LENGTH), content.listPopular(SIDEBAR_LENGTH)])
    return {
      html: templates.sidebar({ latest, popular }),
      // Each entry shows a link and a title, at its place in its list (purge-service/keys-for-event.ts)
      keys: [...listKeys('latest', SIDEBAR_LENGTH, latest, 'link'), ...listKeys('popular', SIDEBAR_LENGTH, popular, 'link')],
    }
  },
})
