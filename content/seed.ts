// Demo content for a fresh store: 4 sections, 60 articles, nav and editor blocks in every slot.
// Everything is generated deterministically from the phrase banks below (same input, same magazine); only the
// dates are relative to `now`, so the demo always looks current. All writes go through the repository, so
// every seeded record also produces its change event.
import type { ContentRepository } from './repository.js'
import type { BlockInput } from './validate.js'
import { seededRandom } from '../platform/random.js'

interface Desk {
  slug: string
  title: string
  description: string
  roles: string[]
  writers: string[]
  subjects: string[] // one article per subject; subjects are unique, so titles are too
  titles: string[] // {s} subject, {P} place
  openings: string[]
  context: string[]
  quotes: string[]
  doubts: string[]
  outlooks: string[]
}

const DESKS: Desk[] = [
  {
    slug: 'news',
    title: 'News',
    description: 'What changed this week in the towns and cities we cover, and who decided it.',
    roles: ['a councillor', 'a union organiser', 'a local headteacher', 'the council’s finance lead', 'a housing campaigner', 'a shop owner'],
    writers: ['Maya Okafor', 'Tom Brennan', 'Ines Duarte'],
    subjects: [
      'the night bus network', 'the harbour flood barrier', 'a four-day week for council staff', 'the new regional hospital wing',
      'rent controls in the old mill district', 'the closure of the Fenwick Street library', 'car-free streets outside primary schools',
      'the long-delayed tram extension', 'water meters for every household', 'the by-election in Northgate', 'a citizens’ assembly on housing',
      'the rescue plan for the steelworks', 'free breakfast clubs in state schools', 'the audit of the pension fund', 'cheaper ferry fares for islanders',
    ],
    titles: ['Council split over {s}', 'What next for {s}?', 'Inside the long fight over {s}', 'Back on the agenda: {s}', '{P} residents weigh in on {s}'],
    openings: [
      'When the first reports about {s} reached {P} this spring, few people expected the argument to last into the autumn.',
      'For most of the past decade, {s} was the kind of issue that filled council agendas and emptied the public gallery.',
      'On a wet Tuesday evening in {P}, more than {n} people queued outside the town hall to have their say on {s}.',
      'The paperwork on {s} runs to several hundred pages, but the question at its heart fits on a postcard: who pays?',
    ],
    context: [
      'The proposal was first tabled in {month}, after a consultation that drew more responses than any since the boundary review.',
      'Officials estimate the first phase alone will cost about {n} thousand pounds, money that has to be found in a budget already cut twice.',
      'Similar schemes in neighbouring authorities have had mixed results, and both sides have been quick to quote the ones that suit them.',
      'Behind the headline figures is a smaller, more stubborn problem: the staff who would run it have not yet been hired.',
    ],
    quotes: [
      'We have been promised this before, and people here have long memories',
      'If we do nothing, the cost does not disappear. It just lands on somebody else',
      'Nobody on the committee disputes the need. The argument is about the order we do things in',
      'I want to see the figures for the third year, not the first',
    ],
    doubts: [
      'Critics say the timetable is optimistic and the savings are counted twice.',
      'Opposition members forced a second vote, arguing that the public had been shown only the best-case scenario.',
      'A report from the council’s own auditors warned that the risks had been described, but not priced.',
      'Some residents worry that the people most affected were the least likely to hear about the consultation.',
    ],
    outlooks: [
      'A final decision is expected before the end of {month}, and campaigners on both sides say they will be in the gallery to hear it.',
      'For now, the plan moves to a scrutiny panel, which can send it back but cannot stop it.',
      'Whatever the outcome, the debate has already changed how the council consults, and that may outlast the scheme itself.',
      'The next test comes at the budget meeting, when promises have to become line items.',
    ],
  },
  {
    slug: 'culture',
    title: 'Culture',
    description: 'Books, stages, screens and the people who keep the lights on in small venues.',
    roles: ['a programmer at the arts centre', 'a retired stage manager', 'a novelist', 'a festival volunteer', 'a gallery curator', 'a music teacher'],
    writers: ['Lena Hart', 'Samuel Achebe', 'Clara Novak'],
    subjects: [
      'the reopening of the Alhambra cinema', 'a folk revival in the valley towns', 'the museum’s missing tapestries', 'late opening at the city gallery',
      'the novelist who writes only on trains', 'a choir of hospital night staff', 'the campaign to save the Corn Exchange theatre',
      'vinyl pressing plants working around the clock', 'the murals along the ring road', 'a festival of translated poetry',
      'the last family-run bookbinders', 'a jazz club under the railway arches', 'dance classes for the over-seventies', 'the comeback of the radio play',
      'an opera staged in a disused swimming pool',
    ],
    titles: ['The story behind {s}', 'In praise of {s}', '{P} falls for {s}', 'Why everyone is talking about {s}', 'A closer look at {s}'],
    openings: [
      'It is a little after seven in {P}, and the room is already fuller than anyone planned for.',
      'There is a particular kind of silence that falls just before something begins, and in {P} people have learned to wait for it.',
      'Ask around {P} about {s} and you will get a dozen different stories, most of them affectionate and at least one of them true.',
      'Nobody set out to start a movement. It began, as these things often do, with a borrowed room and a handful of regulars.',
    ],
    context: [
      'Attendance has roughly doubled since {month}, helped by word of mouth and a single photograph that travelled much further than intended.',
      'The money is still precarious: a small grant, ticket sales and around {n} pounds a month from a list of loyal supporters.',
      'Much of the work is done by volunteers, who paint sets, fix the heating and, when needed, sweep up at midnight.',
      'Older residents remember an earlier version of the same idea, which ran for a few seasons and then quietly disappeared.',
    ],
    quotes: [
      'People do not come for the programme. They come because they know they will see each other',
      'You cannot plan a scene like this. You can only make room for it',
      'We are not precious about it. If something does not work, we try it differently on Thursday',
      'Every town used to have a place like this. We just never wrote down how they worked',
    ],
    doubts: [
      'Not everyone is convinced; one neighbour has complained about the noise, and the licence comes up for renewal next year.',
      'The risk, as the organisers admit, is that success brings landlords who would rather have a chain restaurant.',
      'Critics have called parts of it uneven, which the people involved tend to take as a compliment.',
      'Keeping prices low means relying on goodwill, and goodwill is a resource that runs out without warning.',
    ],
    outlooks: [
      'The next season opens in {month}, with a programme that is longer, stranger and, by general agreement, better.',
      'For now the doors stay open, and on most nights the last people leave well after the lights have been switched off.',
      'If you go, arrive early, bring cash and expect to be asked to help stack the chairs.',
      'Whether it lasts or not, it has already shown the town something about itself.',
    ],
  },
  {
    slug: 'science',
    title: 'Science',
    description: 'Research explained by the people doing it, from the lab bench to the estuary mud.',
    roles: ['an ecologist', 'a physicist', 'a doctoral student', 'a research engineer', 'a data scientist', 'a marine biologist'],
    writers: ['Priya Raman', 'Jonas Weber', 'Aoife Gallagher'],
    subjects: [
      'bees that learn to avoid pesticides', 'a telescope built from recycled mirrors', 'the search for the county’s oldest tree',
      'bacteria that digest plastic in cold water', 'a tidal turbine in the estuary', 'the science of sleep in teenagers',
      'mapping the seabed with fishing boats', 'the return of otters to city rivers', 'a battery made from sodium and salt',
      'measuring glaciers with hobby drones', 'the mathematics of airport queues', 'soils that store more carbon than forests',
      'a vaccine trial run from village halls', 'the meteorite found in a school playground', 'listening to whales through undersea cables',
    ],
    titles: ['The curious case of {s}', 'What we are learning from {s}', 'Researchers in {P} on {s}', 'Explainer: {s}', 'The unlikely promise of {s}'],
    openings: [
      'The first clue was a number that should not have been there.',
      'In a converted shipping container on the edge of {P}, a small team has spent three years studying {s}.',
      'Science rarely moves in straight lines, and the work on {s} has taken more detours than most.',
      'If you had asked a specialist about {s} ten years ago, you would probably have been told it was a dead end.',
    ],
    context: [
      'The team collected more than {n} measurements over two winters, many of them by hand and several in weather that grounded the boats.',
      'A preliminary paper appeared in {month}; it has since been cited widely and, more usefully, argued with.',
      'The method is cheap by the standards of the field, which is part of its appeal and part of the reason it was overlooked.',
      'Similar results have been reported elsewhere, but never with a sample this large or this carefully checked.',
    ],
    quotes: [
      'The interesting part was not the result. It was how long we spent convinced it was a mistake',
      'We were careful to ask what would prove us wrong, and then we went looking for it',
      'It is not a silver bullet. It is one more tool, and a cheap one',
      'Half of the work was building the instruments. The other half was learning to trust them',
    ],
    doubts: [
      'Other researchers caution that the effect is small and may not hold outside the conditions of the study.',
      'The sample, while large, comes from a single region, and the authors themselves call for replication.',
      'Some of the early excitement has cooled as the practical costs of scaling up have become clearer.',
      'Funding for the next phase is not yet secured, which means much of the equipment sits idle between grants.',
    ],
    outlooks: [
      'A larger follow-up begins in {month}, with partners in three countries and a data set that will be published in full.',
      'The next step is the unglamorous one: repeating everything, in different places, with people who hope it fails.',
      'If the results hold, the first practical applications could appear within five years.',
      'For now the container in {P} stays busy, its lights on long after the rest of the industrial estate has gone home.',
    ],
  },
  {
    slug: 'travel',
    title: 'Travel',
    description: 'Slow journeys, small places and how to get there without a plane.',
    roles: ['a guesthouse owner', 'a ferry captain', 'a walking guide', 'a café owner', 'a retired postman', 'a park ranger'],
    writers: ['Nora Lindqvist', 'Daniel Mensah', 'Rosa Ferreira'],
    subjects: [
      'walking the coast path out of season', 'the sleeper train to the northern lakes', 'the islands that turned away cruise ships',
      'cycling the old salt roads', 'a weekend in the market towns of the south', 'winter swimming in mountain lakes',
      'the slow ferry along the fjords', 'the night markets of the eastern ports', 'hiking between hillside monasteries',
      'a city break without a single museum', 'canal boats for beginners', 'the village that rents out its empty houses',
      'birdwatching on the estuary marshes', 'the old lighthouse keepers’ cottages', 'a food tour of the border towns',
    ],
    titles: ['On the road: {s}', 'A slow guide to {s}', 'Why we keep coming back to {s}', 'Notes from {P}: {s}', 'The case for {s}'],
    openings: [
      'The train leaves {P} just after dawn, and for the first hour almost nobody speaks.',
      'Most visitors arrive in August. The ones who understand the place arrive in {month}.',
      'There is no quick version of {s}, which turns out to be the whole point.',
      'The map makes it look simple. The weather, the tides and a bus timetable from another century have other ideas.',
    ],
    context: [
      'A return journey costs less than many people spend getting to the airport, provided it is booked a few weeks ahead.',
      'Accommodation is mostly small and family-run; booking ahead is wise, and phoning rather than clicking often works better.',
      'The local tourist board has started to promote the quieter months, partly to spread visitors out and partly to keep businesses open all year.',
      'Signposting is patchy in places, so a paper map and a charged phone are both worth carrying.',
    ],
    quotes: [
      'People arrive in a hurry and leave slower. That is the only souvenir we sell',
      'The best days here are the ones where the plan falls apart by lunchtime',
      'We would rather have ten guests who stay a week than a hundred who stay an hour',
      'Bring a decent coat and no expectations, and you will have a wonderful time',
    ],
    doubts: [
      'The downside is reliability: connections are few, and a single cancellation can cost you a day.',
      'Popularity brings its own problems, and some residents worry about rents rising as more houses become holiday lets.',
      'Facilities are basic outside the main towns, and in winter many cafés keep short and unpredictable hours.',
      'It is not cheap to get there from everywhere, and the journey itself asks for patience.',
    ],
    outlooks: [
      'The timetable changes in {month}, when a second daily service is due to start, if the promised carriages arrive.',
      'Go before it is discovered, people say, though the truth is that it was discovered long ago and has simply stayed itself.',
      'Whatever you plan, leave a spare day. You will find a use for it.',
      'By the time the light goes, the only sound is the water, and the long way home starts to feel like the right one.',
    ],
  },
]

const PLACES = ['Eastmoor', 'Port Callan', 'Linden Vale', 'Hollins Cross', 'Marrow Bay', 'Stenbury', 'Ashgrove', 'Wrenfield', 'Saltmarsh', 'Brackwater', 'Kelso Ford', 'Harrowgate Quay']
const FIRST_NAMES = ['Agnes', 'Rafael', 'Hannah', 'Kwame', 'Eleanor', 'Tobias', 'Mei', 'Patrick', 'Yusuf', 'Greta', 'Oliver', 'Sofia', 'Declan', 'Amira']
const SURNAMES = ['Whitlock', 'Moreno', 'Castell', 'Asante', 'Byrne', 'Lindgren', 'Chen', 'Doherty', 'Haddad', 'Sørensen', 'Pryce', 'Varga', 'Quinn', 'Mahmoud']
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const ASIDES = [
  'It is a story about money, but it is also a story about who gets to decide.',
  'Nobody we spoke to thought the answer was simple.',
  'The numbers are modest, but they are all moving in the same direction.',
  'That, at least, is the theory.',
  'The details matter here more than the slogans.',
  'Some of this is luck, and the people involved are the first to say so.',
  'It has not always been a smooth ride.',
  'The reaction, so far, has been warmer than expected.',
]

export const DEMO_ARTICLE_COUNT = 60

/** Seed a fresh store with the demo magazine. Does nothing (seeded: false) unless the store is empty. */
export async function seedDemoContent(repo: ContentRepository, opts: { now?: Date } = {}): Promise<{ seeded: boolean }> {
  await repo.ensureIndexes() // an older store gets its indexes; an empty one is marked as indexed
  if (!(await repo.isEmpty())) return { seeded: false }
  const now = (opts.now ?? new Date()).getTime()
  const hour = 3_600_000
  const day = 24 * hour

  for (const [i, desk] of DESKS.entries()) {
    await repo.putSection(desk.slug, { title: desk.title, position: (i + 1) * 10, description: desk.description })
  }

  const titles = new Set<string>()
  const slugs = new Set<string>()
  let editorsPick: { slug: string; title: string } | undefined
  for (let i = 0; i < DEMO_ARTICLE_COUNT; i++) {
    const desk = DESKS[i % DESKS.length]!
    const story = Math.floor(i / DESKS.length)
    const rand = seededRandom(1_000 + i)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!
    const pickTwo = <T>(list: readonly T[]): [T, T] => {
      const a = Math.floor(rand() * list.length)
      const b = (a + 1 + Math.floor(rand() * (list.length - 1))) % list.length
      return [list[a]!, list[b]!]
    }
    const subject = desk.subjects[story]!
    const place = PLACES[(i * 5) % PLACES.length]!
    const fill = (template: string): string =>
      template
        .replaceAll('{s}', subject)
        .replaceAll('{P}', place)
        .replaceAll('{n}', String(20 + Math.floor(rand() * 480)))
        .replaceAll('{month}', pick(MONTHS))

    const title = capitalise(fill(desk.titles[story % desk.titles.length]!))
    if (titles.has(title)) throw new Error(`demo seed produced the title "${title}" twice; fix the phrase banks`)
    titles.add(title)
    const slug = slugify(title, slugs)

    const speaker = `${pick(FIRST_NAMES)} ${pick(SURNAMES)}`
    const opening = capitalise(fill(pick(desk.openings)))
    const [aside1, aside2] = pickTwo(ASIDES)
    const [context1, context2] = pickTwo(desk.context)
    const [quote1, quote2] = pickTwo(desk.quotes)
    const body = [
      `${opening} ${aside1}`,
      `${fill(context1)} ${fill(context2)}`,
      `“${fill(quote1)},” says ${speaker}, ${pick(desk.roles)} in ${place}. “${fill(quote2)}.”`,
      `${fill(pick(desk.doubts))} ${aside2}`,
      `${speaker.split(' ')[0]} is undeterred. ${fill(pick(desk.outlooks))}`,
    ].join('\n\n')

    const publishedAt = new Date(now - (i + 0.25) * day - ((i * 7) % 10) * hour).toISOString()
    const views = Math.round(150 + rand() ** 3 * 48_000 + (DEMO_ARTICLE_COUNT - i) * 40)
    await repo.putArticle(String(i + 1), {
      slug,
      title,
      section: desk.slug,
      body,
      summary: opening,
      author: desk.writers[story % desk.writers.length]!,
      publishedAt,
      views,
    })
    if (desk.slug === 'science' && editorsPick === undefined) editorsPick = { slug, title }
  }

  const soon = (minutes: number) => new Date(now + minutes * 60_000).toISOString()
  const blocks: Array<[string, BlockInput]> = [
    ['nav-subscribe', { slot: 'nav', kind: 'html', position: 10, content: '<a class="cta" href="/subscribe">Subscribe: three months for the price of one</a>' }],
    [
      'nav-rail-strike',
      {
        slot: 'nav',
        kind: 'text',
        position: 5,
        content: 'Travel warning: rail strikes are expected across the north tomorrow. Check your route before you set off.',
        startsAt: soon(2),
        endsAt: soon(24 * 60),
      },
    ],
    [
      'sidebar-newsletter',
      {
        slot: 'sidebar',
        kind: 'snippet',
        position: 10,
        content:
          '<section class="newsletter"><h3>{{#if title}}{{title}}{{else}}The Sunday Letter{{/if}}</h3>' +
          '<p>One long read, one short list and no adverts, every Sunday at eight.</p></section>',
      },
    ],
    [
      'sidebar-corrections',
      {
        slot: 'sidebar',
        kind: 'text',
        position: 20,
        content: 'Corrections: our piece on the tram extension gave the wrong opening year. It is 2027, not 2026. We are sorry for the error.',
      },
    ],
    [
      'main-editors-pick',
      {
        slot: 'main',
        kind: 'html',
        position: 10,
        content: `<section class="editors-pick"><h2>Editor’s pick</h2><p><a href="/articles/${editorsPick!.slug}">${editorsPick!.title}</a></p></section>`,
      },
    ],
    [
      'main-live-qa',
      {
        slot: 'main',
        kind: 'snippet',
        position: 5,
        content: '<div class="live">{{#if live}}<strong>Live now:</strong>{{else}}<strong>Starting soon:</strong>{{/if}} our science desk answers your questions on glaciers and drones.</div>',
        startsAt: soon(5),
        endsAt: soon(3 * 60),
      },
    ],
    [
      'main-winter-sale',
      {
        slot: 'main',
        kind: 'text',
        position: 20,
        content: 'The winter print edition is in shops now, with a free map of the coast path inside.',
        startsAt: new Date(now - hour).toISOString(),
        endsAt: new Date(now + 14 * day).toISOString(),
      },
    ],
  ]
  for (const [id, block] of blocks) await repo.putBlock(id, block)

  await repo.putNav({
    entries: [{ label: 'Home', href: '/' }, ...DESKS.map((d) => ({ label: d.title, href: `/sections/${d.slug}` }))],
  })
  return { seeded: true }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}

function slugify(title: string, taken: Set<string>): string {
  const words = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[’']/g, '')
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
  let slug = ''
  for (const w of words) {
    if ((slug ? slug.length + 1 : 0) + w.length > 60) break
    slug = slug ? `${slug}-${w}` : w
  }
  let unique = slug
  for (let n = 2; taken.has(unique); n++) unique = `${slug}-${n}`
  taken.add(unique)
  return unique
}

