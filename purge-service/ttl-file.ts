// TESSERA_TTL_FILE: policy overrides kept in git, applied by the purge service at start. JSON (`.json`) or YAML:
//   nav: { ttl: 60, grace: 30, keep: 3600 }
// Only fragments named in the file are touched; each entry needs all three values, within the API's bounds.
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import { FRAGMENT_NAMES, type FragmentName } from '../platform/config.js'
import { TesseraError } from '../platform/errors.js'
import type { Logger } from '../platform/log.js'
import type { CachePolicy } from '../cache/policy.js'
import { parsePolicy } from '../cache/policy-overrides.js'
import { isFragmentName } from '../fragments/registry.js'
import { InvalidTtlFile } from './errors.js'
import { purgeFragments } from './policy-api.js'
import type { PolicyStore } from './policy-store.js'
import type { Purger } from './purger.js'

export type TtlOverrides = Partial<Record<FragmentName, CachePolicy>>

/** Reads and validates the whole file; throws InvalidTtlFile naming the first problem. */
export async function loadTtlFile(file: string): Promise<TtlOverrides> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new InvalidTtlFile(file, `cannot be read (${(err as Error).message})`, err)
  }
  let parsed: unknown
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    throw new InvalidTtlFile(file, `is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0].replace(/:$/, '')}`, err)
  }
  return parseTtlOverrides(parsed, file)
}

export function parseTtlOverrides(parsed: unknown, file: string): TtlOverrides {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidTtlFile(file, 'must be a mapping of fragment name to {ttl, grace, keep}')
  }
  const overrides: TtlOverrides = {}
  for (const [name, entry] of Object.entries(parsed)) {
    if (!isFragmentName(name)) throw new InvalidTtlFile(file, `"${name}" is not a fragment; fragments are ${FRAGMENT_NAMES.join(', ')}`)
    try {
      overrides[name] = parsePolicy(entry, name)
    } catch (err) {
      throw new InvalidTtlFile(file, err instanceof TesseraError ? err.message : String(err), err)
    }
  }
  return overrides
}

/**
 * Applies each override that differs from the stored one (audited `by: "file"`), then soft-purges those
 * fragments on every edge node. An unchanged file changes nothing at a restart.
 */
export async function applyTtlOverrides(overrides: TtlOverrides, store: PolicyStore, purger: Purger, log: Logger): Promise<FragmentName[]> {
  const changed: FragmentName[] = []
  for (const [fragment, policy] of Object.entries(overrides) as Array<[FragmentName, CachePolicy]>) {
    if ((await store.set(fragment, policy, 'file', { unlessSame: true })).changed) changed.push(fragment)
  }
  if (changed.length > 0) {
    const purge = await purgeFragments(purger, changed, 'file')
    log.info({ fragments: changed, purge: purge.id, complete: purge.complete }, 'cache policy overrides applied from TESSERA_TTL_FILE')
  }
  return changed
}
