// Every fragment, for the services that must know them all (the purge service's ops API and TTL file).
// Each default policy stays in its fragment's definition; this only gathers them.
import { article } from './article/fragment.js'
import type { FragmentName } from '../platform/config.js'
import type { FragmentDefinition } from './kit/fragment.js'
import type { CachePolicy } from '../cache/policy.js'
import { nav } from './nav/fragment.js'
import { sections } from './sections/fragment.js'
import { sidebar } from './sidebar/fragment.js'

export const FRAGMENTS: Readonly<Record<FragmentName, FragmentDefinition>> = Object.freeze({ nav, sidebar, article, sections })

export const DEFAULT_POLICIES: Readonly<Record<FragmentName, CachePolicy>> = Object.freeze({
  nav: nav.policy,
  sidebar: sidebar.policy,
  article: article.policy,
  sections: sections.policy,
})

export const isFragmentName = (name: string): name is FragmentName => Object.hasOwn(FRAGMENTS, name)
