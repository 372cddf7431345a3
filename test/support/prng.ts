// A small seeded PRNG (mulberry32) for fuzz tests: the same seed gives the same inputs on every run and machine.

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
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
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
