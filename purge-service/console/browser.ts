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
