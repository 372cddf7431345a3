// Issue 18: the content store at scale. On a fresh stack: `npm run seed -- --articles N` (its rate), Redis
// memory per article once the purge service has trimmed the change stream, GET /articles (first page, a deep
// offset, a deep cursor) and GET /search p50/p99 with wrk from its own process against loopback at N articles,
// a single old-style HSCAN pass over every headline for comparison, then `npm run import` of N more articles
// through POST /import (the command-line client, its rate).
import { spawn } from 'node:child_process'
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { Redis } from 'ioredis'
import { generatedArticleLine } from '../../content/generated.js'
import { projectRoot } from '../../platform/paths.js'
import { eventsSettled } from '../../test/support/wait.js'
import { envInt, type Scenario, sleep } from '../support/scenario.js'
import { withBenchStack } from '../support/stack.js'
import { round } from '../support/stats.js'
import { runWrk, type WrkResult } from '../support/wrk.js'

async function run(script: string, args: string[], env: Record<string, string>): Promise<{ code: number; out: string; seconds: number }> {
  const started = performance.now()
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist', script), ...args], { env: { ...process.env, ...env } })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const [code] = (await once(child, 'exit')) as [number]
  return { code, out, seconds: (performance.now() - started) / 1000 }
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory')
  return Number(/^used_memory:(\d+)/m.exec(info)![1])
}

export const contentScale: Scenario = {
  name: 'content-scale',
  description: 'seed and import rate, Redis memory per article, GET /articles and /search p50/p99 at BENCH_ARTICLES (100000) articles',
  async run() {
    const n = envInt('BENCH_ARTICLES', 100_000)
    const seconds = envInt('BENCH_SECONDS', 10)
    const connections = envInt('BENCH_CONNECTIONS', 8)
    return withBenchStack({ edges: 1 }, async (stack) => {
      const redis = new Redis(stack.redisUrl)
      const dir = mkdtempSync(path.join(tmpdir(), 'tessera-content-scale-'))
      try {
        const env = { REDIS_URL: stack.redisUrl, TESSERA_EDITOR_TOKEN: stack.secrets.editorToken, TESSERA_STATE_DIR: stack.config.stateDir }
        await eventsSettled(stack.redisUrl, 60_000)
        const memoryBefore = await usedMemory(redis)
        const articlesBefore = await redis.hlen('tessera:articles:slug')

        // 1. npm run seed -- --articles N
        const seed = await run('scripts/seed.js', ['--articles', String(n)], env)
        if (seed.code !== 0) throw new Error(`seed failed:\n${seed.out}`)
        const seedRate = n / seed.seconds
        await eventsSettled(stack.redisUrl, 600_000)
        // the purge service trims the stream every TESSERA_EVENTS_TRIM_MS (5 s): wait for it to drop the seed's events
        const deadline = Date.now() + 60_000
        while ((await redis.xlen('tessera:events')) > 10 && Date.now() < deadline) await sleep(500)
        const streamLength = await redis.xlen('tessera:events')
        const memoryAfter = await usedMemory(redis)
        const bytesPerArticle = (memoryAfter - memoryBefore) / n
        const sampleId = String(100_000 + Math.floor(n / 2))
        const recordBytes = Number(await redis.memory('USAGE', `tessera:article:${sampleId}`))
        // used_memory also holds what the purge service keeps for an hour per purged key (tessera:purged-at:*,
        // the fill/purge race guard): the content's own share is its records (sampled) plus its indexes (exact)
        const sample = Array.from({ length: Math.min(n, 1000) }, (_, i) => `tessera:article:${100_000 + Math.floor((i * n) / Math.min(n, 1000))}`)
        let sampled = 0
        for (const key of sample) sampled += Number(await redis.memory('USAGE', key))
        const indexKeys = ['tessera:articles:slug', 'tessera:articles:headline', 'tessera:articles:updated-lex', 'tessera:search:words', 'tessera:articles:published', 'tessera:articles:views', ...['news', 'culture', 'science', 'travel'].flatMap((s) => [`tessera:articles:section:${s}`, `tessera:articles:section-all:${s}`])]
        const indexBytes: Record<string, number> = {}
        for (const key of indexKeys) indexBytes[key] = Number(await redis.memory('USAGE', key, 'SAMPLES', 0))
        const totalArticles = n + articlesBefore
        const contentBytesPerArticle = sampled / sample.length + Object.values(indexBytes).reduce((a, b) => a + b, 0) / totalArticles
        const purgeMarks = (await redis.info('keyspace')).match(/keys=(\d+)/)?.[1]

        // 2. reads at N articles, wrk from its own process against loopback
        const api = `http://127.0.0.1:${stack.config.ports.content}`
        const headers = { authorization: `Bearer ${stack.secrets.editorToken}` }
        const mid = (await (await fetch(`${api}/articles?limit=100&offset=${Math.floor(n / 2)}`, { headers })).json()) as { next: string }
        const targets: Array<[string, string]> = [
          ['GET /articles (first page of 20)', '/articles?limit=20'],
          [`GET /articles (offset ${Math.floor(n / 2)})`, `/articles?limit=20&offset=${Math.floor(n / 2)}`],
          ['GET /articles (cursor half way)', `/articles?limit=20&cursor=${mid.next}`],
          ['GET /search?q=harbour (one word)', '/search?q=harbour&limit=20'],
          ['GET /search?q=quiet%20harb (two words, prefix)', '/search?q=quiet%20harb&limit=20'],
          ['GET /search?q=part%2049999 (rare)', '/search?q=part%2049999&limit=20'],
        ]
        const reads: Record<string, WrkResult> = {}
        for (const [name, p] of targets) reads[name] = await runWrk({ url: api + p, connections, seconds, headers })

        // the old search, for comparison: one HSCAN pass over every headline (what GET /search did before)
        const scanStarted = performance.now()
        let cursor = '0'
        let matched = 0
        do {
          const [next, flat] = await redis.hscan('tessera:articles:headline', cursor, 'COUNT', 500)
          cursor = next
          for (let i = 1; i < flat.length; i += 2) if (flat[i]!.toLowerCase().includes('harbour')) matched++
        } while (cursor !== '0')
        const scanMs = performance.now() - scanStarted

        // 3. npm run import -- file.ndjson: N more articles through POST /import
        const file = path.join(dir, 'archive.ndjson')
        const out = createWriteStream(file)
        for (let i = n; i < 2 * n; i++) if (!out.write(generatedArticleLine(i) + '\n')) await once(out, 'drain')
        out.end()
        await once(out, 'finish')
        const imported = await run('scripts/import.js', [file, '--url', api], env)
        if (imported.code !== 0) throw new Error(`import failed:\n${imported.out}`)
        const importRate = n / imported.seconds
        const importedCount = (await redis.hlen('tessera:articles:slug')) - articlesBefore - n

        const readFigures = Object.fromEntries(Object.entries(reads).map(([k, r]) => [k, { p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99, requestsPerSec: round(r.requestsPerSec), errors: r.errors }]))
        return {
          settings: { articles: n, wrkSeconds: seconds, wrkConnections: connections },
          figures: {
            seed: { articles: n, seconds: round(seed.seconds), articlesPerSec: round(seedRate) },
            import: { articles: importedCount, seconds: round(imported.seconds), articlesPerSec: round(importRate), output: imported.out.trim().split('\n').pop() },
            memory: {
              usedBefore: memoryBefore,
              usedAfter: memoryAfter,
              usedMemoryDeltaPerArticle: round(bytesPerArticle),
              contentBytesPerArticle: round(contentBytesPerArticle),
              recordBytesMean: round(sampled / sample.length),
              sampleRecordBytes: recordBytes,
              indexBytes,
              keysInRedis: Number(purgeMarks),
              streamLengthAfterTrim: streamLength,
            },
            reads: readFigures,
            oldSearchScan: { ms: round(scanMs), matched },
          },
          summary: [
            `npm run seed -- --articles ${n}: ${round(seed.seconds)} s, ${round(seedRate)} articles/s`,
            `npm run import of ${n} more: ${round(imported.seconds)} s, ${round(importRate)} articles/s (${importedCount} written)`,
            `Redis memory per article: ${round(contentBytesPerArticle)} B of content (record ${round(sampled / sample.length)} B + indexes ${round(contentBytesPerArticle - sampled / sample.length)} B); used_memory grew ${round(bytesPerArticle)} B per article (with the purge service's 1 h purge marks; stream trimmed to ${streamLength} entries)`,
            ...Object.entries(reads).map(([k, r]) => `${k}: p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ${round(r.requestsPerSec)} req/s, ${r.errors} errors`),
            `one HSCAN pass over ${n + articlesBefore} headlines (the search before this index): ${round(scanMs)} ms`,
          ],
        }
      } finally {
        redis.disconnect()
        rmSync(dir, { recursive: true, force: true })
      }
    })
  },
}
