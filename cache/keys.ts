// Surrogate keys: validated, de-duplicated, and split over several `xkey` headers so no header line comes
// near Varnish's http_resp_hdr_len (8 KB by default) however many keys an object has (and purges' xkey-purge
// lines near http_req_hdr_len).

const KEY = /^[a-z][a-z0-9-]*(:[A-Za-z0-9._-]{1,128})?$/
export const MAX_KEY_HEADER_BYTES = 7000
/** Above this an object names too much to purge precisely; the fragment should be split instead. */
export const MAX_KEYS = 4000

/**
 * The keys the edge writes itself, never an origin (varnish/tier.vcl, policy.vcl, legacy.vcl): an assembled
 * page's own URL and each include's, an assembly's and a fill's id (removed by purge.vcl's second look), and a
 * legacy route's name. VCL spells them as string literals; test/unit/edge-key-prefixes-match-the-vcl.test.ts
 * keeps that list and this one the same.
 */
export const EDGE_KEY_PREFIXES = { include: 'inc:', pageUrl: 'page-url:', assembly: 'asm:', fill: 'fill:', route: 'route:' } as const

export class InvalidSurrogateKey extends Error {
  readonly code = 'TESSERA_INVALID_SURROGATE_KEY'
}

/**
 * What a purge may name: any key an origin can send, Tessera's own or a legacy CMS's (its `xkey` or Fastly-style
 * `Surrogate-Key` header, e.g. Drupal's node:12 or node_list): a letter or digit, then letters, digits and
 * `. _ : / @ + = % -`. A space separates keys in every header that carries them and a comma is how the page
 * tier's keys are escaped (purge.vcl's %2C); quotes, backslashes and the operators of a ban expression or a
 * shell (`& | ; $ ( ) < > * ! ~`) are refused, so a key can never be read as more than one key or as an expression.
 */
export const MAX_PURGEABLE_KEY_BYTES = 1024
export const PURGEABLE_KEY_PATTERN = `^[A-Za-z0-9][A-Za-z0-9._:/@+=%-]{0,${MAX_PURGEABLE_KEY_BYTES - 1}}$`
const PURGEABLE_KEY = new RegExp(PURGEABLE_KEY_PATTERN)

export function isPurgeableKey(key: string): boolean {
  return PURGEABLE_KEY.test(key)
}

export function normaliseKeys(keys: Iterable<string>): string[] {
  const unique = [...new Set(keys)]
  for (const key of unique) {
    if (!KEY.test(key)) throw new InvalidSurrogateKey(`surrogate key ${JSON.stringify(key)} is not of the form name or kind:id`)
  }
  if (unique.length > MAX_KEYS) throw new InvalidSurrogateKey(`${unique.length} surrogate keys on one object (max ${MAX_KEYS})`)
  return unique
}

/** Values for repeated `xkey` headers, each at most MAX_KEY_HEADER_BYTES long. */
export function keyHeaderValues(keys: string[]): string[] {
  const lines: string[] = []
  let line = ''
  for (const key of keys) {
    if (line && line.length + 1 + key.length > MAX_KEY_HEADER_BYTES) {
      lines.push(line)
      line = ''
    }
    line = line ? `${line} ${key}` : key
  }
  if (line) lines.push(line)
  return lines
}
