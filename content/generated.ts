// Generated articles for scale: `npm run seed -- --articles N`, the import tests and the content-scale bench.
// Deterministic (article i is the same on every run), spread over the demo sections, ids from 100000 on (the
// demo magazine uses 1-60), titles from small word banks so search has something to find.
import { seededRandom } from '../platform/random.js'
import type { ContentRepository, ImportItem } from './repository.js'
import { seedDemoContent } from './seed.js'

const ADJECTIVES = ['quiet', 'late', 'long', 'bright', 'hidden', 'northern', 'small', 'open', 'last', 'new', 'old', 'slow', 'free', 'wild', 'broken', 'golden']
const NOUNS = ['harbour', 'library', 'railway', 'orchard', 'festival', 'market', 'bridge', 'theatre', 'glacier', 'school', 'ferry', 'garden', 'factory', 'choir', 'river', 'budget', 'museum', 'tram', 'island', 'council']
const PLACES = ['Eastmoor', 'Port Callan', 'Linden Vale', 'Hollins Cross', 'Marrow Bay', 'Stenbury', 'Ashgrove', 'Wrenfield', 'Saltmarsh', 'Brackwater']
const SENTENCES = [
  'Nobody we spoke to thought the answer was simple.',
  'The numbers are modest, but they are all moving in the same direction.',
  'Officials say the first phase will take most of next year.',
  'Residents packed the hall on a wet Tuesday evening to have their say.',
  'Critics say the timetable is optimistic and the savings are counted twice.',
  'The details matter here more than the slogans.',
  'For now, the plan moves to a scrutiny panel, which can send it back but cannot stop it.',
  'Some of this is luck, and the people involved are the first to say so.',
]
export const GENERATED_SECTIONS = ['news', 'culture', 'science', 'travel']
export const GENERATED_FIRST_ID = 100_000

/** Article `i` (0-based) of the generated set, as an import item. */
export function generatedArticle(i: number, now = Date.now()): ImportItem & { kind: 'article' } {
  const rand = seededRandom(7_000_003 + i)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!
  const [adj, noun, place] = [pick(ADJECTIVES), pick(NOUNS), pick(PLACES)]
  const id = String(GENERATED_FIRST_ID + i)
  const title = `The ${adj} ${noun} of ${place}, part ${i + 1}`
  const paragraphs = Array.from({ length: 4 }, () => `${pick(SENTENCES)} ${pick(SENTENCES)} ${pick(SENTENCES)}`)
  return {
    kind: 'article',
    id,
    input: {
      slug: `${adj}-${noun}-${place.toLowerCase().replace(/\s+/g, '-')}-${id}`,
      title,
      section: GENERATED_SECTIONS[i % GENERATED_SECTIONS.length]!,
      body: paragraphs.join('\n\n'),
      summary: paragraphs[0]!,
      author: `${pick(['Maya', 'Tom', 'Ines', 'Lena', 'Samuel', 'Clara'])} ${pick(['Okafor', 'Brennan', 'Duarte', 'Hart', 'Achebe', 'Novak'])}`,
      publishedAt: new Date(now - (i + 1) * 60_000).toISOString(),
      views: Math.floor(rand() * 10_000),
    },
  }
}

/** The NDJSON line of a generated article (what POST /import takes). */
export function generatedArticleLine(i: number, now?: number): string {
  const { id, input } = generatedArticle(i, now)
  return JSON.stringify({ kind: 'article', id, ...input })
}

/**
 * Seeds the demo magazine (when the store is empty) and `count` generated articles, in batches through the
 * repository's import path: one MULTI/EXEC and one batch event per `batch` articles, batches back to back.
 */
export async function seedGeneratedArticles(repo: ContentRepository, count: number, opts: { batch?: number; onBatch?: (done: number) => void } = {}): Promise<{ written: number; failed: number }> {
  await seedDemoContent(repo)
  const batch = opts.batch ?? 500
  const now = Date.now()
  let written = 0
  let failed = 0
  for (let start = 0; start < count; start += batch) {
    const items = Array.from({ length: Math.min(batch, count - start) }, (_, j) => generatedArticle(start + j, now))
    for (const outcome of await repo.importBatch(items)) outcome.result === 'error' ? failed++ : written++
    opts.onBatch?.(start + items.length)
  }
  return { written, failed }
}
