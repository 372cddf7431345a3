// HTML rendering shared by fragments and layouts: one Handlebars instance, templates from disk, and the rules
// that keep editor content from reaching the edge as ESI or as server-side code.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import Handlebars from 'handlebars'
import { LRUCache } from 'lru-cache'
import { projectRoot } from './paths.js'

export const hbs = Handlebars.create()

hbs.registerHelper('date', (iso: unknown) => {
  if (typeof iso !== 'string') return ''
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
})

hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b)

/** Escaped paragraphs from plain text with blank lines between paragraphs. */
hbs.registerHelper('paragraphs', (text: unknown) => {
  if (typeof text !== 'string') return ''
  const html = text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${hbs.escapeExpression(p)}</p>`)
    .join('\n')
  return new hbs.SafeString(html)
})

// Prototype access is off by default in Handlebars >= 4.6; we say so explicitly for every render.
export const RUNTIME_OPTIONS: Handlebars.RuntimeOptions = {
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
}

export type Template = (context: unknown) => string

/** Compiles every `*.hbs` in `dir` (relative to the project root) into a template keyed by file name. */
export function loadTemplates(dir: string): Record<string, Template> {
  const abs = path.join(projectRoot, dir)
  const templates: Record<string, Template> = {}
  for (const file of readdirSync(abs)) {
    if (!file.endsWith('.hbs')) continue
    const compiled = hbs.compile(readFileSync(path.join(abs, file), 'utf8'), { strict: false })
    templates[file.slice(0, -4)] = (context) => compiled(context, RUNTIME_OPTIONS)
  }
  return templates
}

/**
 * Editor content must never become an ESI instruction at the edge: `<esi:...>`, `</esi:...>` and `<!--esi`
 * are turned into text.
 */
export function neutraliseEsi(html: string): string {
  return html.replace(/<(\/?)(\s*)esi:/gi, '&lt;$1$2esi:').replace(/<!--(\s*)esi/gi, '&lt;!--$1esi')
}

const snippetCache = new LRUCache<string, Handlebars.TemplateDelegate>({ max: 500 })
const SNIPPET_OPTIONS: Parameters<typeof hbs.compile>[1] = { knownHelpersOnly: true, knownHelpers: { date: true, paragraphs: true }, strict: false }

/** What a snippet can read: the time of the render and its slot. */
export interface SnippetData {
  now: string
  slot: string
}

/**
 * An editor's Handlebars snippet: only our known helpers, no prototype access, only the data we pass,
 * and its output neutralised like any editor HTML. A snippet that cannot render throws (and is not cached).
 */
export function renderSnippet(source: string, data: SnippetData | Record<string, unknown>): string {
  const cached = snippetCache.get(source)
  if (cached) return neutraliseEsi(cached(data, RUNTIME_OPTIONS))
  const template = hbs.compile(source, SNIPPET_OPTIONS)
  const html = template(data, RUNTIME_OPTIONS) // compile() is lazy: a syntax error or an unknown helper throws here
  snippetCache.set(source, template)
  return neutraliseEsi(html)
}

/**
 * Write-time validation, exactly as the slot will render it: the same compiler, options and data; throws
 * with Handlebars' message.
 */
export function checkSnippet(source: string, slot: string): void {
  renderSnippet(source, { now: new Date().toISOString(), slot })
}
