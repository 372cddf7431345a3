// Surrogate keys: validated, de-duplicated, and split over several `xkey` headers so no header line comes
// near Varnish's http_resp_hdr_len (8 KB by default) however many keys an object has.

const KEY = /^[a-z][a-z0-9-]*(:[A-Za-z0-9._-]{1,128})?$/
export const MAX_KEY_HEADER_BYTES = 7000
/** Above this an object names too much to purge precisely; the fragment should be split instead. */
export const MAX_KEYS = 4000

export class InvalidSurrogateKey extends Error {
  readonly code = 'TESSERA_INVALID_SURROGATE_KEY'
}

export function isSurrogateKey(key: string): boolean {
  return KEY.test(key)
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
