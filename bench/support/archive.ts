// A magazine's archive at its real size, written straight into Redis: N published articles in the existing
// sections, through the repository's own record and index layout (writeArticle), pipelined in batches. No
// change events: nothing is cached yet when it is written, so nothing needs purging.
import { performance } from 'node:perf_hooks'
import type { Article } from '../../content/model.js'
import { contentKeys, writeArticle } from '../../content/repository.js'
import { connectRedis } from '../../platform/redis.js'
import { seededRandom } from './random.js'

const WORDS = (
  'council market river school night harbour archive rail energy budget housing museum festival weather ' +
  'science library season garden bridge station election report survey climate transport workshop ferry'
).split(' ')

export interface Archive {
  /** Article ids and slugs, newest first (index 0 was published last). */
  articles: Array<{ id: string; slug: string }>
  seconds: number
  /** Redis used_memory before and after the write. */
  redisBytes: { before: number; after: number }
}

const usedMemory = (info: string): number => Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN)

/**
 * Writes `count` published articles (ids `archive-<n>`), spread over the store's sections, one minute apart
 * going back from `now`, each with a body of about `bodyBytes` characters. Pipelined `batch` articles at a time.
 */
export async function writeArchive(redisUrl: string, opts: { count: number; now: Date; bodyBytes?: number; batch?: number }): Promise<Archive> {
  const redis = connectRedis(redisUrl, 'bench-archive')
  try {
    const sections = await redis.zrange(contentKeys.sections, 0, -1)
    if (sections.length === 0) throw new Error('the store has no sections to put the archive in (seed it first)')
    const before = usedMemory(await redis.info('memory'))
    const started = performance.now()
    const random = seededRandom(19)
    const word = () => WORDS[Math.floor(random() * WORDS.length)]
    const bodyBytes = opts.bodyBytes ?? 2_500
    const batch = opts.batch ?? 500
    const articles: Archive['articles'] = []
    for (let start = 0; start < opts.count; start += batch) {
      const pipeline = redis.pipeline()
      for (let n = start; n < Math.min(opts.count, start + batch); n++) {
        const id = `archive-${n}`
        const title = `${word()} ${word()} ${word()} ${n}`
        const slug = `${title.replaceAll(' ', '-')}`
        const paragraphs: string[] = []
        for (let length = 0; length < bodyBytes; ) {
          const sentence = Array.from({ length: 12 }, word).join(' ')
          paragraphs.push(`${sentence[0].toUpperCase()}${sentence.slice(1)}.`)
          length += sentence.length + 2
        }
        const at = new Date(opts.now.getTime() - (n + 1) * 60_000).toISOString()
        const article: Article = {
          id,
          slug,
          title: title[0].toUpperCase() + title.slice(1),
          section: sections[n % sections.length],
          body: paragraphs.join('\n\n'),
          summary: paragraphs[0],
          author: 'Archive desk',
          publishedAt: at,
          updatedAt: at,
          views: Math.floor(random() * 1_000),
        }
        writeArticle(pipeline, undefined, article)
        articles.push({ id, slug })
      }
      const results = await pipeline.exec()
      const failed = results?.find(([err]) => err)
      if (failed) throw failed[0]
    }
    const seconds = (performance.now() - started) / 1000
    return { articles, seconds, redisBytes: { before, after: usedMemory(await redis.info('memory')) } }
  } finally {
    redis.disconnect()
  }
}
