// Reading a service's Prometheus text (GET /metrics on every service).

/** The body of GET /metrics, checked to be Prometheus text. */
export async function metrics(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`)
  if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('text/plain')) throw new Error(`${base}/metrics answered ${res.status}`)
  return res.text()
}

/** Every series of one metric in Prometheus text: its labels and value. */
export function series(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = []
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]))
    out.push({ labels, value: Number(m[3]) })
  }
  return out
}

/** The value of one series in Prometheus text, by name and labels (a subset of its labels). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return series(text, name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
}
