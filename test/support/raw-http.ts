// Raw HTTP/1 over TCP, for tests that must send bytes no HTTP client would send (bad framing, NUL bytes,
// conflicting lengths, pipelined requests) and see the responses exactly as the server framed them.
import net from 'node:net'

export interface RawResponse {
  status: number
  reason: string
  headers: Array<[string, string]>
  body: Buffer
  /** The first header of that name (case-insensitive). */
  header(name: string): string | undefined
}

export interface RawExchange {
  /** Every complete response the server sent, in order. */
  responses: RawResponse[]
  /** The server closed (or reset) the connection before the deadline. */
  closed: boolean
  /** The deadline passed with the connection still open: the server hung. */
  timedOut: boolean
  /** Bytes after the last complete response (a response that could not be framed). */
  leftover: Buffer
  ms: number
  /** A socket error (ECONNRESET after the server gave up on us is normal for malformed input). */
  error?: string
}

export interface RawOptions {
  host?: string
  /** Give up (and report timedOut) after this long; default 4000 ms. */
  timeoutMs?: number
  /** The requests were HEAD: responses have no body whatever their headers say. */
  head?: boolean
  /**
   * Half-close after writing (default true), so a server that has a complete request must answer and close
   * rather than wait for more. Node's http server aborts a request still in progress when the client
   * half-closes: against node, send `Connection: close` and pass false.
   */
  halfClose?: boolean
}

/**
 * Connects, writes `request` as is (then half-closes, unless told not to), and reads until the server closes
 * the connection or the deadline passes.
 */
export function rawExchange(port: number, request: string | Buffer, options: RawOptions = {}): Promise<RawExchange> {
  const timeoutMs = options.timeoutMs ?? 4000
  const started = performance.now()
  return new Promise((resolve) => {
    const socket = net.connect({ host: options.host ?? '127.0.0.1', port })
    const chunks: Buffer[] = []
    let error: string | undefined
    let done = false
    const finish = (closed: boolean, timedOut: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const { responses, leftover } = parseResponses(Buffer.concat(chunks), options.head ?? false)
      resolve({ responses, closed, timedOut, leftover, ms: Math.round(performance.now() - started), ...(error ? { error } : {}) })
    }
    const timer = setTimeout(() => finish(false, true), timeoutMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message
    })
    socket.on('close', () => finish(true, false))
    const bytes = typeof request === 'string' ? Buffer.from(request, 'latin1') : request
    if (options.halfClose ?? true) socket.end(bytes)
    else socket.write(bytes)
  })
}

/** An HTTP/1.1 request as bytes: request line, the headers given (in order, as given), a blank line, the body. */
export function httpRequest(method: string, target: string, headers: Array<[string, string]>, body?: string | Buffer, version = 'HTTP/1.1'): Buffer {
  const head = `${method} ${target} ${version}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`
  const payload = body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  return Buffer.concat([Buffer.from(head, 'latin1'), payload])
}

/** Splits what a server sent into responses, by Content-Length, chunked encoding or (last) end of stream. */
export function parseResponses(data: Buffer, head = false): { responses: RawResponse[]; leftover: Buffer } {
  const responses: RawResponse[] = []
  let rest = data
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n')
    if (end === -1) break
    const lines = rest.subarray(0, end).toString('latin1').split('\r\n')
    const m = /^HTTP\/\d\.\d (\d{3})(?: (.*))?$/.exec(lines[0] ?? '')
    if (!m) break
    const headers = lines.slice(1).map((l): [string, string] => {
      const i = l.indexOf(':')
      return i === -1 ? [l, ''] : [l.slice(0, i), l.slice(i + 1).trim()]
    })
    const header = (name: string) => headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1]
    const status = Number(m[1])
    let after = rest.subarray(end + 4)
    let body: Buffer
    if (head || status < 200 || status === 204 || status === 304) {
      body = Buffer.alloc(0)
    } else if (/chunked/i.test(header('transfer-encoding') ?? '')) {
      const decoded = dechunk(after)
      if (!decoded) break
      body = decoded.body
      after = decoded.rest
    } else if (header('content-length') !== undefined) {
      const length = Number(header('content-length'))
      if (!Number.isSafeInteger(length) || after.length < length) break
      body = after.subarray(0, length)
      after = after.subarray(length)
    } else {
      body = after
      after = Buffer.alloc(0)
    }
    responses.push({ status, reason: m[2] ?? '', headers, body, header })
    rest = after
  }
  return { responses, leftover: rest }
}

function dechunk(data: Buffer): { body: Buffer; rest: Buffer } | undefined {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = data.indexOf('\r\n', at)
    if (eol === -1) return undefined
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1').split(';')[0]!.trim(), 16)
    if (!Number.isSafeInteger(size) || size < 0) return undefined
    at = eol + 2
    if (size === 0) {
      // trailer lines, if any, then an empty line
      let cursor = at
      for (;;) {
        const next = data.indexOf('\r\n', cursor)
        if (next === -1) return undefined
        if (next === cursor) break
        cursor = next + 2
      }
      return { body: Buffer.concat(parts), rest: data.subarray(cursor + 2) }
    }
    if (data.length < at + size + 2) return undefined
    parts.push(data.subarray(at, at + size))
    at += size + 2
  }
}
