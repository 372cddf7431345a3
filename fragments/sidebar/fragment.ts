import { defineFragment } from '../kit/fragment.js'
import { loadTemplates } from '../kit/html.js'

const templates = loadTemplates('fragments/sidebar/templates')
const LIST_LENGTH = 5

export const sidebar = defineFragment({
  name: 'sidebar',
  routes: ['/fragments/sidebar'],
  policy: { ttl: 120, grace: 30, keep: 86_400 },
  fallback: () => '<aside data-fragment="sidebar" data-fragment-state="unavailable"></aside>',
  async render({ content }) {
    const [latest, popular] = await Promise.all([content.listLatest(LIST_LENGTH), content.listPopular(LIST_LENGTH)])
    return {
      html: templates.sidebar({ latest, popular }),
      keys: ['list:latest', 'list:popular', ...[...latest, ...popular].map((a) => `article:${a.id}`)],
    }
  },
})
