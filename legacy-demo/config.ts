// The simulated legacy CMS's knobs (TESSERA_DEMO_LEGACY_*), validated once; the README's configuration table
// lists them. Defaults are the fires the issue describes: 2 s renders, an occasional 500, a 12 s hang now and then.
import { InvalidConfig } from '../platform/errors.js'

export interface LegacyDemoConfig {
  renderMs: number
  /** Share of page requests answered 500 (with a Cache-Control that would cache the error page for 10 minutes). */
  errorRate: number
  /** Share of page requests that hang for hangMs before answering. */
  hangRate: number
  hangMs: number
  seed: number
  /** Old stories in the archive, /stories/1 to /stories/<stories> (what most of a legacy site is). */
  stories: number
}

export function loadLegacyDemoConfig(env: Record<string, string | undefined> = process.env): Readonly<LegacyDemoConfig> {
  const problems: string[] = []
  const num = (name: string, fallback: number, min: number, max: number, integer: boolean): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      problems.push(`${name}=${JSON.stringify(raw)} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`)
      return fallback
    }
    return n
  }
  const config: LegacyDemoConfig = {
    renderMs: num('TESSERA_DEMO_LEGACY_RENDER_MS', 2000, 0, 60_000, true),
    errorRate: num('TESSERA_DEMO_LEGACY_ERROR_RATE', 0.05, 0, 1, false),
    hangRate: num('TESSERA_DEMO_LEGACY_HANG_RATE', 0.01, 0, 1, false),
    hangMs: num('TESSERA_DEMO_LEGACY_HANG_MS', 12_000, 0, 120_000, true),
    seed: num('TESSERA_DEMO_LEGACY_SEED', 16, 0, 2 ** 31, true),
    stories: num('TESSERA_DEMO_LEGACY_STORIES', 500, 0, 100_000, true),
  }
  if (config.errorRate + config.hangRate > 1) problems.push('TESSERA_DEMO_LEGACY_ERROR_RATE + TESSERA_DEMO_LEGACY_HANG_RATE must be at most 1')
  if (problems.length) throw new InvalidConfig(problems)
  return Object.freeze(config)
}
