// A small seeded PRNG (mulberry32) for fuzz tests: the same seed gives the same inputs on every run and machine.
import { seededRandom } from '../../platform/random.js'

export interface Prng {
  /** A float in [0, 1). */
  next(): number
  /** An integer in [min, max]. */
  int(min: number, max: number): number
  pick<T>(items: readonly T[]): T
  chance(p: number): boolean
  /** `length` characters drawn from `alphabet` (by code point). */
  string(length: number, alphabet: string): string
}

export function prng(seed: number): Prng {
  const next = seededRandom(seed)
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  const pick = <T,>(items: readonly T[]): T => {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[int(0, items.length - 1)]!
  }
  return {
    next,
    int,
    pick,
    chance: (p) => next() < p,
    string: (length, alphabet) => {
      const chars = Array.from(alphabet)
      return Array.from({ length }, () => pick(chars)).join('')
    },
  }
}
