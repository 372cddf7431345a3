// Signing in to the console over HTTP, as a browser would (the sign-in form's CSRF cookie, then the session's).

export interface ConsoleClient {
  cookie: string
  csrf: string
  /** A call to the console's own API with the session's cookie and CSRF token. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }>
}

const cookieOf = (res: Response, name: string): string | undefined =>
  res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1)

export async function signInToConsole(base: string, token: string): Promise<ConsoleClient> {
  const form = await fetch(`${base}/console`)
  const signInCookie = cookieOf(form, 'tessera_console_signin')
  const formCsrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1]
  if (!signInCookie || !formCsrf) throw new Error('the console did not offer a sign-in form')
  const signIn = await fetch(`${base}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: signInCookie },
    body: new URLSearchParams({ csrf: formCsrf, token }).toString(),
  })
  const cookie = cookieOf(signIn, 'tessera_console')
  if (signIn.status !== 303 || !cookie) throw new Error(`console sign-in answered ${signIn.status}`)
  const page = await fetch(`${base}/console`, { headers: { cookie } })
  const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(await page.text())?.[1]
  if (!csrf) throw new Error('the console page carried no CSRF token')
  return {
    cookie,
    csrf,
    async call<T>(method: string, path: string, body?: unknown) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { cookie, 'x-csrf-token': csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      })
      const text = await res.text()
      return { status: res.status, json: (text ? JSON.parse(text) : undefined) as T }
    },
  }
}
