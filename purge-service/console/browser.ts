// The console's script in the browser (served as /console/console.js): search, preview, purge, the live audit
// log, and inline policy edits. Every state-changing call carries the page's CSRF token in `x-csrf-token`.
// Everything the API answers is written with textContent: no markup from the server's data.
export {}

interface ApiError {
  error?: { code?: string; message?: string; field?: string }
}

interface Answer {
  ok: boolean
  status: number
  json: any
}

const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? ''
const $ = <T extends HTMLElement>(selector: string, root: ParentNode = document) => root.querySelector<T>(selector)

async function call(method: string, url: string, body?: unknown): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: { 'x-csrf-token': csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    })
    const text = await res.text()
    let json: any
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      json = { error: { message: text.slice(0, 200) } }
    }
    return { ok: res.ok, status: res.status, json }
  } catch (err) {
    return { ok: false, status: 0, json: { error: { message: `the purge service did not answer (${(err as Error).message})` } } }
  }
}

/** An API error in plain words. */
function words(what: string, answer: Answer): string {
  const e = (answer.json as ApiError)?.error
  if (answer.status === 401) return `${what}: you are signed out (or the session expired). Reload the page and sign in again.`
  return `${what} failed${answer.status ? ` (${answer.status})` : ''}: ${e?.field ? `${e.field} ` : ''}${e?.message ?? 'no reason given'}`
}

function el(tag: string, text?: string, className?: string): HTMLElement {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = text
  if (className) node.className = className
  return node
}

function row(cells: string[], className?: string): HTMLTableRowElement {
  const tr = document.createElement('tr')
  for (const c of cells) tr.append(el('td', c))
  if (className) tr.className = className
  return tr
}

function table(head: string[], rows: HTMLTableRowElement[], id: string): HTMLTableElement {
  const t = document.createElement('table')
  t.id = id
  const thead = document.createElement('thead')
  const tr = document.createElement('tr')
  for (const h of head) tr.append(el('th', h))
  thead.append(tr)
  const tbody = document.createElement('tbody')
  tbody.append(...rows)
  t.append(thead, tbody)
  return t
}

// ---- editor view ----------------------------------------------------------------------------------------
const searchForm = $<HTMLFormElement>('#search-form')
if (searchForm) {
  const hits = $<HTMLUListElement>('#hits')!
  const searchError = $('#search-error')!
  const purgeError = $('#purge-error')!
  const previewResult = $('#preview-result')!
  const purgeResult = $('#purge-result')!

  searchForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    searchError.textContent = ''
    const q = $<HTMLInputElement>('#q')!.value
    const answer = await call('GET', `/console/api/search?q=${encodeURIComponent(q)}`)
    hits.replaceChildren()
    if (!answer.ok) return void (searchError.textContent = words('Search', answer))
    if (answer.json.hits.length === 0) return void (searchError.textContent = `Nothing matches "${q}".`)
    for (const hit of answer.json.hits as Array<{ kind: string; id: string; title: string }>) {
      const li = el('li')
      const label = el('label')
      const box = document.createElement('input')
      box.type = 'checkbox'
      box.className = 'pick'
      box.dataset.kind = hit.kind
      box.dataset.id = hit.id
      label.append(box, ' ', el('span', hit.kind, 'kind'), el('span', `${hit.title} `), el('code', hit.id))
      li.append(label)
      hits.append(li)
    }
  })

  const selection = () => {
    const picked: Record<string, string[]> = {}
    for (const box of document.querySelectorAll<HTMLInputElement>('input.pick:checked')) {
      const field = `${box.dataset.kind}s`
      ;(picked[field] ??= []).push(box.dataset.id!)
    }
    return picked
  }

  $('#preview-button')!.addEventListener('click', async () => {
    purgeError.textContent = ''
    previewResult.replaceChildren()
    const picked = selection()
    if (Object.keys(picked).length === 0) return void (purgeError.textContent = 'Select something in the search results first.')
    const answer = await call('POST', '/console/api/preview', picked)
    if (!answer.ok) return void (purgeError.textContent = words('Preview', answer))
    const list = el('ul')
    list.id = 'preview-urls'
    for (const url of answer.json.urls as string[]) list.append(el('li', url))
    previewResult.append(el('p', `A purge would refresh ${answer.json.count} URLs (keys ${answer.json.keys.join(', ')}) on ${answer.json.nodes.length} edge nodes:`), list)
  })

  const purge = async (mode: 'hard' | 'soft') => {
    purgeError.textContent = ''
    purgeResult.replaceChildren()
    const picked = selection()
    if (Object.keys(picked).length === 0) return void (purgeError.textContent = 'Select something in the search results first.')
    const answer = await call('POST', '/console/api/purges', { ...picked, mode })
    if (!answer.ok) return void (purgeError.textContent = words(`The ${mode} purge`, answer))
    const rows = (answer.json.nodes as Array<{ node: string; ok: boolean; status?: number; purged?: number; ms?: number; error?: { message: string } }>).map((n) =>
      row([n.node, n.ok ? 'acknowledged' : `not yet: queued (${n.error?.message ?? 'no answer'})`, String(n.status ?? '-'), String(n.purged ?? '-'), n.ms === undefined ? '-' : `${n.ms} ms`], n.ok ? 'ok' : 'bad'),
    )
    purgeResult.append(
      el('p', answer.json.complete ? `${mode} purge ${answer.json.id}: every edge node acknowledged.` : `${mode} purge ${answer.json.id}: some nodes did not answer; it is queued for them and will be retried.`, answer.json.complete ? 'ok' : 'bad'),
      table(['Edge node', 'Result', 'Status', 'Objects purged', 'Time'], rows, 'purge-nodes'),
    )
    void refreshAudit()
  }
  $('#purge-hard')!.addEventListener('click', () => void purge('hard'))
  $('#purge-soft')!.addEventListener('click', () => void purge('soft'))

  const auditRows = $('#audit-rows')!
  const auditError = $('#audit-error')!
  const refreshAudit = async () => {
    const answer = await call('GET', '/console/api/purges')
    if (!answer.ok) return void (auditError.textContent = words('Refreshing the audit log', answer))
    auditError.textContent = ''
    auditRows.replaceChildren(
      ...(answer.json.purges as Array<{ id: string; at: string; who: string; source: string; mode: string; keys: string[]; urls: string[]; complete: boolean }>).map((p) => {
        const tr = row([p.at, `${p.who} (${p.source})`, p.mode, [...p.keys, ...p.urls].join(', '), p.complete ? 'all acknowledged' : 'some queued'])
        tr.dataset.purge = p.id
        return tr
      }),
    )
  }
  setInterval(() => void refreshAudit(), 3000)
}

// ---- ops view -------------------------------------------------------------------------------------------
const fmt = (p?: { ttl: number; grace: number; keep: number }) => (p ? `${p.ttl} / ${p.grace} / ${p.keep}` : 'none')

for (const form of document.querySelectorAll<HTMLFormElement>('form.policy-form')) {
  const fragment = form.dataset.fragment!
  const tr = form.closest('tr')!
  const status = $('.status', form)!
  const clearErrors = () => {
    for (const e of form.querySelectorAll('.field-error')) e.textContent = ''
    status.textContent = ''
  }
  const show = (what: string, answer: Answer) => {
    const field = (answer.json as ApiError)?.error?.field
    const spot = $(`.field-error[data-field="${field && ['ttl', 'grace', 'keep'].includes(field) ? field : 'body'}"]`, form)!
    spot.textContent = words(what, answer)
  }
  const applied = (answer: Answer) => {
    $('.override', tr)!.textContent = fmt(answer.json.override)
    $('.effective', tr)!.textContent = fmt(answer.json.effective)
    for (const name of ['ttl', 'grace', 'keep'] as const) $<HTMLInputElement>(`input[name="${name}"]`, form)!.value = String(answer.json.effective[name])
    status.textContent = answer.json.changed === false ? 'nothing to change' : answer.status === 202 ? 'saved; some edge nodes will refresh later' : 'saved; cached copies are refreshing'
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearErrors()
    const value = (name: string) => {
      const raw = $<HTMLInputElement>(`input[name="${name}"]`, form)!.value.trim()
      return raw === '' ? undefined : Number(raw)
    }
    const answer = await call('PUT', `/console/api/policies/${encodeURIComponent(fragment)}`, { ttl: value('ttl'), grace: value('grace'), keep: value('keep') })
    if (!answer.ok) return show(`Saving ${fragment}'s policy`, answer)
    applied(answer)
  })
  $('button.clear', form)!.addEventListener('click', async () => {
    clearErrors()
    const answer = await call('DELETE', `/console/api/policies/${encodeURIComponent(fragment)}`)
    if (!answer.ok) return show(`Clearing ${fragment}'s override`, answer)
    applied(answer)
  })
}

// Edge health, purge lag and the charts: re-read from the server-rendered ops page every 10 s, so the view
// stays current without a reload (the page's own template does the rendering; nothing is built from data here).
const livePanels = ['#edges-panel', '#charts-panel'].filter((id) => $(id))
if (livePanels.length > 0) {
  setInterval(async () => {
    try {
      const res = await fetch('/console/ops', { credentials: 'same-origin' })
      if (!res.ok) return
      const fresh = new DOMParser().parseFromString(await res.text(), 'text/html')
      for (const id of livePanels) {
        const next = fresh.querySelector(id)
        if (next) $(id)!.replaceWith(document.importNode(next, true))
      }
    } catch {
      // the next tick tries again; the panels keep their last figures
    }
  }, 10_000)
}

// ---- hub pages and block scope ----------------------------------------------------------------------------
type HubModule =
  | { kind: 'blocks'; slot: string }
  | { kind: 'article-list'; source: string; ids?: string[]; limit: number }
  | { kind: 'article-teaser'; id: string }
  | { kind: 'html'; content: string }

/** The API's message beside the field it names (a `.field-error[data-field]`), else in `fallback`. */
function showFieldError(what: string, answer: Answer, fallback: HTMLElement, root: ParentNode = document) {
  const error = (answer.json as ApiError)?.error
  const spot = error?.field ? root.querySelector<HTMLElement>(`.field-error[data-field="${CSS.escape(error.field)}"]`) : null
  if (!spot) return void (fallback.textContent = words(what, answer))
  // beside the field, the reason alone (the message names its field first)
  spot.textContent = `${what} failed: ${(error?.message ?? 'no reason given').replace(`${error?.field}: `, '')}`
}

function fieldError(field: string): HTMLElement {
  const span = el('span', '', 'field-error')
  span.dataset.field = field
  span.setAttribute('role', 'alert')
  return span
}

function button(text: string, className: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', text, className) as HTMLButtonElement
  b.type = 'button'
  b.addEventListener('click', onClick)
  return b
}

function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = el('label', `${text} `, 'field') as HTMLLabelElement
  label.append(control)
  return label
}

/** Search articles by title (the console's search) and pick one. */
function articlePicker(onPick: (hit: { id: string; title: string }) => void): HTMLElement {
  const box = el('div', undefined, 'picker')
  const q = document.createElement('input')
  q.type = 'search'
  q.className = 'pick-query'
  q.placeholder = 'find an article by title'
  const results = el('ul', undefined, 'hits pick-results')
  const problem = el('span', '', 'field-error')
  const search = async () => {
    problem.textContent = ''
    results.replaceChildren()
    const answer = await call('GET', `/console/api/search?q=${encodeURIComponent(q.value)}`)
    if (!answer.ok) return void (problem.textContent = words('Search', answer))
    const hits = (answer.json.hits as Array<{ kind: string; id: string; title: string }>).filter((h) => h.kind === 'article')
    if (hits.length === 0) return void (problem.textContent = `No article matches "${q.value}".`)
    for (const hit of hits) {
      const li = el('li')
      li.append(button('Pick', 'pick-article', () => onPick(hit)), ' ', el('span', hit.title), ' ', el('code', hit.id))
      li.dataset.id = hit.id
      results.append(li)
    }
  }
  q.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault()
      void search()
    }
  })
  box.append(q, ' ', button('Search', 'pick-search', () => void search()), problem, results)
  return box
}

const composer = $('#composer')
if (composer) {
  const slug = composer.dataset.slug!
  const site = composer.dataset.site ?? ''
  const status = $('#hub-status')!
  const problem = $('#hub-error')!
  const text = (id: string) => $<HTMLInputElement>(id)!
  let modules: HubModule[] = []
  let exists = false

  const clearMessages = () => {
    for (const e of document.querySelectorAll('.field-error')) e.textContent = ''
    problem.textContent = ''
    status.textContent = ''
  }
  const fresh = (kind: string): HubModule =>
    kind === 'article-list' ? { kind, source: 'latest', limit: 5 } : kind === 'article-teaser' ? { kind, id: '' } : kind === 'html' ? { kind, content: '' } : { kind: 'blocks', slot: 'main' }

  const render = () => $('#modules')!.replaceChildren(...modules.map(moduleItem))

  function moduleItem(m: HubModule, n: number): HTMLLIElement {
    const li = el('li', undefined, 'module') as HTMLLIElement
    li.dataset.index = String(n)
    li.dataset.kind = m.kind
    const head = el('div')
    const move = (by: number) => {
      const to = n + by
      if (to < 0 || to >= modules.length) return
      ;[modules[n], modules[to]] = [modules[to]!, modules[n]!]
      render()
    }
    head.append(el('span', `${n + 1}. ${m.kind}`, 'module-kind'), button('Up', 'module-up', () => move(-1)), ' ', button('Down', 'module-down', () => move(1)), ' ',
      button('Remove', 'module-remove', () => {
        modules.splice(n, 1)
        render()
      }))
    li.append(head)
    const where = `modules[${n}]`
    switch (m.kind) {
      case 'html': {
        const area = document.createElement('textarea')
        area.className = 'module-html'
        area.value = m.content
        area.addEventListener('input', () => (m.content = area.value))
        li.append(labelled('HTML', area), fieldError(`${where}.content`))
        break
      }
      case 'blocks': {
        const select = document.createElement('select')
        select.className = 'module-slot'
        for (const slot of ['main', 'sidebar', 'nav']) select.append(new Option(slot, slot, false, slot === m.slot))
        select.addEventListener('change', () => (m.slot = select.value))
        li.append(labelled(`Blocks aimed at hub:${slug} in slot`, select), fieldError(`${where}.slot`))
        break
      }
      case 'article-teaser': {
        const chosen = el('code', m.id || '(none yet)', 'teaser-id')
        li.append(labelled('Article', chosen), articlePicker((hit) => {
          m.id = hit.id
          chosen.textContent = hit.id
        }), fieldError(`${where}.id`))
        break
      }
      case 'article-list': {
        const source = document.createElement('select')
        source.className = 'module-source'
        const kindOf = m.source.startsWith('section:') ? 'section' : m.source
        for (const [value, label] of [['latest', 'the latest'], ['section', "a section's latest"], ['picks', 'articles I pick']]) source.append(new Option(label, value, false, value === kindOf))
        const section = document.createElement('input')
        section.type = 'text'
        section.className = 'module-section'
        section.placeholder = 'section slug'
        section.value = m.source.startsWith('section:') ? m.source.slice('section:'.length) : ''
        section.hidden = kindOf !== 'section'
        const limit = document.createElement('input')
        limit.type = 'number'
        limit.className = 'module-limit'
        limit.value = String(m.limit)
        limit.addEventListener('input', () => (m.limit = Number(limit.value)))
        const picked = el('ul', undefined, 'picked')
        const showPicked = () =>
          picked.replaceChildren(...(m.ids ?? []).map((id, i) => {
            const item = el('li')
            item.append(el('code', id), ' ', button('×', 'unpick', () => {
              m.ids!.splice(i, 1)
              showPicked()
            }))
            return item
          }))
        const picker = articlePicker((hit) => {
          m.ids = [...(m.ids ?? []).filter((id) => id !== hit.id), hit.id]
          showPicked()
        })
        const sync = () => {
          const chosen = source.value
          section.hidden = chosen !== 'section'
          picked.hidden = picker.hidden = chosen !== 'picks'
          m.source = chosen === 'section' ? `section:${section.value.trim()}` : chosen
          if (chosen === 'picks') m.ids ??= []
          else delete m.ids
        }
        source.addEventListener('change', sync)
        section.addEventListener('input', sync)
        picked.hidden = picker.hidden = kindOf !== 'picks'
        showPicked()
        li.append(labelled('Articles', source), section, fieldError(`${where}.source`), labelled('How many', limit), fieldError(`${where}.limit`), picked, picker, fieldError(`${where}.ids`))
        break
      }
    }
    li.append(fieldError(where), fieldError(`${where}.kind`))
    return li
  }

  const showState = (hub: { draft?: boolean; startsAt?: string; endsAt?: string } | undefined) => {
    $('#hub-state')!.textContent = !hub ? '(new: not saved yet)' : hub.draft ? '(draft)' : `(published${hub.startsAt ? ` from ${hub.startsAt}` : ''}${hub.endsAt ? ` until ${hub.endsAt}` : ''})`
  }

  const load = async () => {
    const answer = await call('GET', `/console/api/hubs/${slug}`)
    if (answer.status === 404) return showState(undefined)
    if (!answer.ok) return void (problem.textContent = words('Loading the hub', answer))
    exists = true
    const hub = answer.json
    text('#hub-title').value = hub.title
    text('#hub-description').value = hub.description ?? ''
    text('#hub-starts').value = hub.startsAt ?? ''
    text('#hub-ends').value = hub.endsAt ?? ''
    modules = hub.modules
    showState(hub)
    render()
  }

  const save = async (draft: boolean) => {
    clearMessages()
    const optional = (id: string) => text(id).value.trim() || undefined
    const body = { title: text('#hub-title').value, description: optional('#hub-description'), startsAt: optional('#hub-starts'), endsAt: optional('#hub-ends'), modules, draft }
    const answer = await call('PUT', `/console/api/hubs/${slug}`, body)
    if (!answer.ok) return showFieldError(draft ? 'Saving the draft' : 'Publishing', answer, problem)
    exists = true
    showState(answer.json)
    status.textContent = draft ? 'Saved as a draft: only previews show it.' : `Published: readers see /hubs/${slug}.`
  }

  $('#add-module')!.addEventListener('click', () => {
    modules.push(fresh($<HTMLSelectElement>('#new-module-kind')!.value))
    render()
  })
  $('#save-draft')!.addEventListener('click', () => void save(true))
  $('#publish')!.addEventListener('click', () => void save(false))
  $('#preview-hub')!.addEventListener('click', async () => {
    clearMessages()
    if (!exists) return void (problem.textContent = 'Save the hub (as a draft) first: a preview shows what is saved.')
    const answer = await call('POST', '/console/api/preview-token', {})
    if (!answer.ok) return void (problem.textContent = words('Preview', answer))
    const link = $<HTMLAnchorElement>('#preview-link')!
    link.href = `${site}/preview/hubs/${slug}?token=${encodeURIComponent(answer.json.token)}`
    link.hidden = false
    status.textContent = `Preview ready until ${answer.json.expiresAt}: it shows what is saved, drafts included.`
  })
  $('#delete-hub')!.addEventListener('click', async () => {
    clearMessages()
    const answer = await call('DELETE', `/console/api/hubs/${slug}`)
    if (!answer.ok) return void (problem.textContent = words('Deleting the hub', answer))
    location.href = '/console/hubs'
  })
  void load()
}

const newHub = $<HTMLFormElement>('#new-hub-form')
if (newHub) {
  newHub.addEventListener('submit', (event) => {
    event.preventDefault()
    const slug = $<HTMLInputElement>('#new-hub-slug')!.value.trim()
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(slug)) return void ($('#new-hub-error')!.textContent = 'A hub slug is 1-64 of a-z, 0-9 and "-", starting with a letter or digit.')
    location.href = `/console/hubs/${slug}`
  })
}

for (const form of document.querySelectorAll<HTMLFormElement>('form.scope-form')) {
  const kind = $<HTMLSelectElement>('select[name="kind"]', form)!
  const target = $<HTMLInputElement>('input[name="target"]', form)!
  const current = target.dataset.scope ?? 'site'
  kind.value = current === 'site' ? 'site' : current.slice(0, current.indexOf(':'))
  target.value = current === 'site' ? '' : current.slice(current.indexOf(':') + 1)
  target.hidden = kind.value === 'site'
  kind.addEventListener('change', () => (target.hidden = kind.value === 'site'))
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const statusSpot = $('.status', form)!
    const errorSpot = $<HTMLElement>('.field-error', form)!
    statusSpot.textContent = ''
    errorSpot.textContent = ''
    const scope = kind.value === 'site' ? 'site' : `${kind.value}:${target.value.trim()}`
    const answer = await call('PUT', `/console/api/blocks/${encodeURIComponent(form.dataset.block!)}/scope`, { scope })
    if (!answer.ok) return showFieldError(`Saving ${form.dataset.block}'s scope`, answer, errorSpot, form)
    statusSpot.textContent = `saved: ${answer.json.scope ?? 'site'}`
  })
}
