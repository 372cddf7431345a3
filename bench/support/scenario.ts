// What a benchmark scenario is to the runner: a name, and a run that returns its figures and a summary.

export interface ScenarioReport {
  /** The knobs this run used (durations, counts), so a result file says how it was measured. */
  settings: Record<string, number | string>
  /** Everything measured, as written to bench/results/<name>.json. */
  figures: Record<string, unknown>
  /** Human-readable lines for the console. */
  summary: string[]
}

export interface Scenario {
  name: string
  description: string
  run(): Promise<ScenarioReport>
}

/** A positive integer from the environment (BENCH_SECONDS=10), or the fallback; anything else is an error. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${JSON.stringify(raw)} must be a positive integer`)
  return n
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** A comma-separated list of positive integers from the environment (BENCH_READ_RATES=100,300), or the fallback. */
export function envRates(name: string, fallback: number[]): number[] {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const rates = raw.split(',').map((part) => Number(part.trim()))
  if (rates.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${name}=${JSON.stringify(raw)} must be positive integers separated by commas`)
  return rates
}
