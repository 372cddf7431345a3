// A hub page's modules, each one include (/fragments/sections/modules/<hub>/<n>) served by the sections
// service: like blocks, they are editor-made and share its policy. Each is tagged with what it shows.
import type { Article, Hub, HubModule } from '../../content/model.js'
import type { ContentRepository } from '../../content/repository.js'
import { articleKey, blockKey, FRONT_LENGTH, hubKey, hubModuleKey, isPublished, type ListName, listKeys, sectionList, slotKey } from '../../cache/content-keys.js'
import type { Rendered } from '../kit/fragment.js'
import { loadTemplates, neutraliseEsi } from '../../platform/html.js'
import { isActive, nextScheduledChange, renderBlock } from './blocks.js'

const templates = loadTemplates('fragments/sections/templates')

/** The include of a hub's module at `index`. */
export const hubModuleInclude = (slug: string, index: number): string => `/fragments/sections/modules/${slug}/${index}`

/** Readers see a hub that is not a draft, from startsAt (inclusive) until endsAt (exclusive). */
export function hubIsShown(hub: Hub, now: Date): boolean {
  return !hub.draft && isActive(hub, now)
}

/** The next moment the hub appears or disappears. */
export const hubNextChange = (hub: Hub, now: Date): Date | undefined => nextScheduledChange([hub], now)


/** What one article-list or teaser module shows: keys of each article's teaser and of its being shown at all. */
const pickedKeys = (ids: string[]) => ids.flatMap((id) => [articleKey('teaser', id), articleKey('body', id)])

/**
 * Module `index` of hub `slug`. A module of a hub readers cannot see (a draft, out of its schedule) is a 404
 * tagged with the hub, so showing the hub replaces it; `preview` shows drafts (articles, hubs, blocks) too.
 */
export async function renderHubModule(content: ContentRepository, slug: string, index: number, now: Date, preview = false): Promise<Rendered> {
  const own = hubModuleKey(slug, index)
  const hub = await content.getHub(slug)
  const module = hub?.modules[index]
  if (!hub || !module || (!preview && !hubIsShown(hub, now))) {
    return { status: 404, html: '<section data-fragment="sections" data-fragment-state="not-found"></section>', keys: [own, hubKey(slug)], nextChange: hub && hubNextChange(hub, now) }
  }
  const shown = await moduleBody(content, slug, module, now, preview)
  return {
    html: templates.module({ kind: module.kind, index, html: shown.html }),
    keys: [own, ...shown.keys],
    nextChange: earliest(hubNextChange(hub, now), shown.nextChange),
  }
}

async function moduleBody(content: ContentRepository, slug: string, module: HubModule, now: Date, preview: boolean): Promise<Omit<Rendered, 'status'>> {
  const visible = (a: Article | undefined): a is Article => (preview ? a !== undefined : isPublished(a, now))
  switch (module.kind) {
    case 'html':
      return { html: neutraliseEsi(module.content), keys: [] }
    case 'blocks': {
      const scope = `hub:${slug}` as const
      const blocks = await content.listScopedBlocks(module.slot, scope)
      const shown = blocks.filter((b) => preview || (!b.draft && isActive(b, now))).map((b) => ({ id: b.id, kind: b.kind, html: renderBlock(b, now) }))
      return {
        html: templates.slot({ slot: module.slot, scope, blocks: shown }),
        keys: [slotKey(module.slot, scope), ...blocks.map((b) => blockKey(b.id))],
        nextChange: nextScheduledChange(blocks, now),
      }
    }
    case 'article-teaser': {
      const found = await content.getArticle(module.id)
      return { html: templates.teasers({ articles: visible(found) ? [found] : [] }), keys: pickedKeys([module.id]) }
    }
    case 'article-list': {
      if (module.source === 'picks') {
        const ids = (module.ids ?? []).slice(0, module.limit)
        const found = await Promise.all(ids.map((id) => content.getArticle(id)))
        return { html: templates.teasers({ articles: found.filter(visible) }), keys: pickedKeys(ids) }
      }
      const section = module.source === 'latest' ? undefined : module.source.slice('section:'.length)
      const list: ListName = section === undefined ? 'latest' : sectionList(section)
      const articles = await content.listLatest(module.limit, section === undefined ? {} : { section })
      // Keyed as the first FRONT_LENGTH of the list (a limit is at most that): purged when they change
      return { html: templates.teasers({ articles }), keys: listKeys(list, FRONT_LENGTH, articles, 'teaser') }
    }
  }
}

function earliest(...dates: Array<Date | undefined>): Date | undefined {
  const times = dates.filter((d): d is Date => d !== undefined).map((d) => d.getTime())
  return times.length ? new Date(Math.min(...times)) : undefined
}
