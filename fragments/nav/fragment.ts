import { NAV_KEY, NAV_SECTIONS_KEY } from '../../cache/content-keys.js'
import { defineFragment } from '../kit/fragment.js'
import { loadTemplates } from '../../platform/html.js'

const templates = loadTemplates('fragments/nav/templates')

export const nav = defineFragment({
  name: 'nav',
  routes: ['/fragments/nav'],
  policy: { ttl: 300, staleWhileRevalidate: 60, staleIfError: 86_400 },
  fallback: () => '<nav data-fragment="nav" data-fragment-state="unavailable"></nav>',
  async render({ content }) {
    const navigation = await content.getNav()
    if (navigation && navigation.entries.length > 0) {
      return { html: templates.nav({ entries: navigation.entries }), keys: [NAV_KEY] }
    }
    // No editor-made nav yet: list the sections (titles, order), and depend on them.
    const sections = await content.listSections()
    return {
      html: templates.nav({ entries: sections.map((s) => ({ label: s.title, href: `/sections/${s.slug}` })) }),
      keys: [NAV_KEY, NAV_SECTIONS_KEY],
    }
  },
})
