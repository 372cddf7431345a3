// Warm-up after a purge: re-fetch the affected URLs through every edge node, a few at a time, so readers
// meet a warm cache and the origins see one fetch per object, not a stampede.
import type { EdgeClient } from './edge-client.js'

export interface WarmResult {
  node: string
  fetched: number
  failed: number
  /** What the last failed fetch answered or threw. */
  lastError?: string
}

export async function warm(clients: EdgeClient[], urls: string[], concurrency: number): Promise<WarmResult[]> {
  return Promise.all(
    clients.map(async (client) => {
      let next = 0
      let fetched = 0
      let failed = 0
      let lastError: string | undefined
      const worker = async () => {
        while (next < urls.length) {
          const url = urls[next++]
          try {
            const status = await client.fetch(url)
            if (status < 500) fetched++
            else {
              failed++
              lastError = `${url}: ${status}`
            }
          } catch (err) {
            failed++
            lastError = `${url}: ${(err as Error).message}`
          }
        }
      }
      await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker))
      return { node: client.node, fetched, failed, ...(lastError ? { lastError } : {}) }
    }),
  )
}
