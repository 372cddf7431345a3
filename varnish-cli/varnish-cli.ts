// Our own client for varnishd's admin CLI (the -T port), written against varnishd 7.1.1.
//
// Wire protocol (varnishd's CLI, as varnishd 7.1.1 speaks it):
//   every response is a 13-byte header "%-3d %-8d\n" (status, body length), the body, then one "\n".
//   We read strictly by length: a response may arrive in many TCP chunks, several responses may share one.
//   On connect varnishd sends 107 + a challenge; we answer `auth <sha256 hex>`.
//
// Argument encoding, decided against the real 7.1.1 (verified with raw sockets):
//   - Its argument parser (VAV_Parse) rejects two double-quoted arguments in a row: `ping "a" "b"` answers
//     100 "Missing separator between arguments". So quoting every argument breaks every multi-argument
//     command (`vcl.load "n" "/f"`). But backslash escapes are decoded in UNQUOTED tokens too, so we send
//     each argument unquoted with everything that matters escaped: `\\ \" \n \r \t`, space as `\x20`, all
//     other bytes outside 0x21..0x7e as `\xnn`. Only the empty string needs quotes (`""`).
//   - Commands the manager does not handle itself (ban, ban.list, backend.*, vcl.show, help, debug.*) are
//     re-sent to the cache child with each argument backslash-escaped but NOT quoted, joined by spaces: an
//     argument with a space (0x20) in it arrives at the child split in two (tabs, newlines, quotes survive).
//     Escaping spaces on our side does not help (the manager decodes them first). Worse, if the split makes
//     "<<" the last-but-one token the child waits for a here-document, the manager times out after
//     cli_timeout and KILLS the cache child (cache lost). So `command()` refuses a space in an argument of
//     a forwarded command, and refuses a bare "<<" argument anywhere (the manager would also take it as a
//     here-document, even escaped). `ban()` sends the ban as separate tokens and rewrites spaces inside regex
//     arguments to the regex escape `\x20` (PCRE sees a space; the CLI sees none); a space inside a
//     non-regex ban argument cannot be carried by 7.1.1 and is refused with InvalidBan.
//   - A here-document (`cmd args << TOKEN\n...\nTOKEN\n`) is passed verbatim (no escapes, no cli_buffer limit);
//     only the last argument may be one. `vclInline()` uses it.

import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'

import { TesseraError } from '../platform/errors.js'

// ---------------------------------------------------------------------------------------------- errors

export class VarnishCliAuthFailed extends TesseraError {
  readonly code = 'TESSERA_VARNISH_AUTH'
  constructor(address: string, detail: string) {
    super(`varnishd at ${address} refused our CLI authentication (${detail}); the secret must be the exact bytes of varnishd's -S file`)
  }
}

export class VarnishCliUnreachable extends TesseraError {
  readonly code = 'TESSERA_VARNISH_UNREACHABLE'
  override readonly statusCode = 503
  constructor(address: string, detail: string, cause?: unknown) {
    super(`varnishd admin port ${address} ${detail}; check that varnishd runs with -T ${address}, then retry`, { cause })
  }
}

export class VarnishCliCommandFailed extends TesseraError {
  readonly code = 'TESSERA_VARNISH_COMMAND'
  override readonly statusCode = 502
  constructor(
    readonly command: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`varnishd answered ${status} (${statusName(status)}) to "${command}": ${body.trim() || '(empty body)'}`)
  }
}

export class VarnishCliTimeout extends TesseraError {
  readonly code = 'TESSERA_VARNISH_TIMEOUT'
  override readonly statusCode = 504
  constructor(address: string, what: string, ms: number) {
    super(`varnishd at ${address} did not answer ${what} within ${ms} ms; the connection was closed, reconnect and retry`)
  }
}

export class VarnishCliInvalidArgument extends TesseraError {
  readonly code = 'TESSERA_VARNISH_ARGUMENT'
  override readonly statusCode = 400
  constructor(command: string, message: string) {
    super(`"${command}": ${message}`)
  }
}

export class InvalidBan extends TesseraError {
  readonly code = 'TESSERA_INVALID_BAN'
  override readonly statusCode = 400
  constructor(field: string, message: string) {
    super(`${field}: ${message}`, { field })
  }
}

// ------------------------------------------------------------------------------------------ protocol

/** CLI status codes (vcli.h). */
export const CliStatus = {
  SYNTAX: 100,
  UNKNOWN: 101,
  UNIMPL: 102,
  TOOFEW: 104,
  TOOMANY: 105,
  PARAM: 106,
  AUTH: 107,
  OK: 200,
  TRUNCATED: 201,
  CANT: 300,
  COMMS: 400,
  CLOSE: 500,
} as const

function statusName(status: number): string {
  for (const [name, value] of Object.entries(CliStatus)) if (value === status) return name.toLowerCase()
  return 'unknown status'
}

export interface CliResponse {
  status: number
  body: string
}

const HEADER_LEN = 13

export class CliProtocolError extends Error {}

/**
 * Turns a byte stream into CLI responses, strictly by length. Push chunks as they come; get back every
 * response completed so far.
 */
export class CliFrameReader {
  private chunks: Buffer[] = []
  private buffered = 0
  private bodyLen = -1
  private status = 0

  push(chunk: Buffer): CliResponse[] {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    const out: CliResponse[] = []
    for (;;) {
      if (this.bodyLen < 0) {
        if (this.buffered < HEADER_LEN) break
        const header = this.take(HEADER_LEN).toString('latin1')
        const m = /^(\d{3}) (\d{1,8}) *\n$/.exec(header)
        if (!m) throw new CliProtocolError(`not a varnish CLI response header: ${JSON.stringify(header)}`)
        this.status = Number(m[1])
        this.bodyLen = Number(m[2])
      }
      if (this.buffered < this.bodyLen + 1) break
      const frame = this.take(this.bodyLen + 1)
      if (frame[this.bodyLen] !== 0x0a) throw new CliProtocolError('CLI response body is not followed by a newline')
      out.push({ status: this.status, body: frame.subarray(0, this.bodyLen).toString('utf8') })
      this.bodyLen = -1
    }
    return out
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered)
    const head = all.subarray(0, n)
    const rest = all.subarray(n)
    this.chunks = rest.length ? [rest] : []
    this.buffered = rest.length
    return head
  }
}

/** The answer to varnishd's challenge: sha256(challenge "\n" secret challenge "\n"), lowercase hex. */
export function authResponse(challenge: string, secret: Buffer): string {
  return createHash('sha256').update(`${challenge}\n`).update(secret).update(`${challenge}\n`).digest('hex')
}

/** One argument as an unquoted, escaped CLI token (see the header comment for why not quoted). */
export function encodeCliArgument(arg: string): string {
  if (arg === '') return '""'
  let out = ''
  for (const byte of Buffer.from(arg, 'utf8')) {
    switch (byte) {
      case 0x5c: out += '\\\\'; break
      case 0x22: out += '\\"'; break
      case 0x0a: out += '\\n'; break
      case 0x0d: out += '\\r'; break
      case 0x09: out += '\\t'; break
      default:
        out += byte > 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`
    }
  }
  return out
}

/** The command line for `args` (no trailing newline). */
export function encodeCommandLine(args: readonly string[]): string {
  if (args.length === 0 || args[0] === '') throw new TypeError('a CLI command needs a command name')
  for (let i = 1; i < args.length; i++) {
    if (args[i] === '' && args[i - 1] === '') {
      throw new TypeError('varnishd 7.1.1 cannot parse two empty arguments in a row ("" "")')
    }
  }
  return args.map(encodeCliArgument).join(' ')
}

/** Commands varnishd 7.1.1's manager answers itself; every other command is re-sent to the cache child. */
export const MANAGER_COMMANDS: ReadonlySet<string> = new Set([
  'auth', 'banner', 'panic.clear', 'panic.show', 'param.reset', 'param.set', 'param.show', 'pid', 'ping', 'quit',
  'start', 'status', 'stop', 'storage.list', 'vcl.deps', 'vcl.discard', 'vcl.inline', 'vcl.label', 'vcl.list',
  'vcl.load', 'vcl.state', 'vcl.use',
])

/** Refuses arguments 7.1.1 would mangle (see the header comment). */
export function checkCommandArguments(args: readonly string[]): void {
  const [name = '', ...rest] = args
  if (rest.includes('<<')) {
    throw new VarnishCliInvalidArgument(name, 'a bare "<<" argument starts a here-document in varnishd; it cannot be sent as data')
  }
  if (!MANAGER_COMMANDS.has(name)) {
    const spaced = rest.find((a) => a.includes(' '))
    if (spaced !== undefined) {
      throw new VarnishCliInvalidArgument(name, `varnishd 7.1.1 re-sends this command to its cache child unquoted, so the space in ${JSON.stringify(spaced)} would split it`)
    }
  }
}

// ------------------------------------------------------------------------------------------- client

export interface VarnishCliOptions {
  host: string
  port: number
  /** The exact bytes of varnishd's -S file (trailing newline included). */
  secret: Buffer
  /** Connect + authenticate deadline; default 5000 ms. */
  timeoutMs?: number
  /** Per-command deadline; default 60000 ms (varnishd's own cli_timeout; vcl.load compiles C). */
  commandTimeoutMs?: number
}

export interface BanEntry {
  /** Seconds since the epoch, as varnishd prints it (microseconds). */
  time: number
  /** Objects still pointing at this ban. */
  objects: number
  completed: boolean
  /** The ban expression as varnishd renders it, e.g. `obj.http.x-url ~ ^/news/`. */
  spec: string
}

export type BackendHealthState = 'healthy' | 'sick' | 'unknown'

export interface BackendHealth {
  /** `<vcl>.<backend>`, e.g. `boot.default`. */
  name: string
  type: string
  /** Admin state: `probe` (auto, with a probe), `healthy`/`sick` (forced, or auto without a probe). */
  admin: string
  /** Present when the backend has a probe. */
  probe?: { good: number; window: number; health: BackendHealthState }
  /** What varnishd acts on: a forced admin state wins, then the probe, else healthy. */
  health: BackendHealthState
  lastChange?: Date
}

export interface VclEntry {
  name: string
  /** active | available | discarded ... */
  status: string
  state: string
  temperature: string
  busy: number
}

export interface ParamInfo {
  name: string
  value: unknown
  units?: string
  default?: string
  description?: string
  [key: string]: unknown
}

interface Pending {
  label: string
  resolve(r: CliResponse): void
  reject(e: Error): void
}

interface Queued extends Pending {
  wire: string
}

export class VarnishCli {
  private readonly reader = new CliFrameReader()
  private readonly queue: Queued[] = []
  private inFlight: Pending | undefined
  private timer: NodeJS.Timeout | undefined
  private closedError: Error | undefined
  private closing = false

  private constructor(
    private readonly socket: net.Socket,
    readonly address: string,
    private readonly commandTimeoutMs: number,
  ) {}

  static async connect(opts: VarnishCliOptions): Promise<VarnishCli> {
    const address = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`
    const timeoutMs = opts.timeoutMs ?? 5000
    const socket = net.connect({ host: opts.host, port: opts.port })
    socket.setNoDelay(true)
    const cli = new VarnishCli(socket, address, opts.commandTimeoutMs ?? 60_000)

    const deadline = setTimeout(() => {
      cli.fail(socket.connecting
        ? new VarnishCliUnreachable(address, `did not accept a connection within ${timeoutMs} ms`)
        : new VarnishCliTimeout(address, 'the authentication', timeoutMs))
    }, timeoutMs)
    try {
      // Register the greeting as the first in-flight request before any byte can arrive.
      const greeting = new Promise<CliResponse>((resolve, reject) => {
        cli.inFlight = { label: 'greeting', resolve, reject }
      })
      socket.on('data', (chunk) => cli.onData(chunk))
      socket.on('error', (err) => cli.fail(cli.socketError(err)))
      socket.on('close', () => cli.fail(new VarnishCliUnreachable(address, 'closed the connection')))

      const first = await greeting
      if (first.status === CliStatus.AUTH) {
        const challenge = first.body.split('\n', 1)[0] ?? ''
        if (!/^[a-z]{32}$/.test(challenge)) {
          throw new VarnishCliUnreachable(address, `sent an unexpected challenge ${JSON.stringify(challenge)}`)
        }
        let answer: CliResponse
        try {
          answer = await cli.send(`auth ${authResponse(challenge, opts.secret)}`, 'auth', false)
        } catch (err) {
          // 7.1.1 answers a wrong secret with "500 0" and hangs up; a close during auth means the same.
          if (err instanceof VarnishCliUnreachable) throw new VarnishCliAuthFailed(address, 'connection closed')
          throw err
        }
        if (answer.status !== CliStatus.OK) {
          throw new VarnishCliAuthFailed(address, `status ${answer.status}`)
        }
      } else if (first.status !== CliStatus.OK) {
        throw new VarnishCliUnreachable(address, `greeted us with status ${first.status}: ${first.body.trim()}`)
      }
      return cli
    } catch (err) {
      cli.fail(err instanceof Error ? err : new Error(String(err)))
      socket.destroy()
      throw err
    } finally {
      clearTimeout(deadline)
    }
  }

  /** Sends one command; resolves with whatever status varnishd answers (no throw on non-200). */
  command(...args: string[]): Promise<CliResponse> {
    try {
      checkCommandArguments(args)
      return this.send(encodeCommandLine(args), args[0] ?? '', true)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** Sends `args` with `heredoc` as the last argument, verbatim (no escaping, no cli_buffer limit). */
  private commandWithHeredoc(args: string[], heredoc: string): Promise<CliResponse> {
    try {
      checkCommandArguments(args)
    } catch (err) {
      return Promise.reject(err)
    }
    let token: string
    const lines = new Set(heredoc.split('\n'))
    do token = `TESSERA_${randomBytes(8).toString('hex')}`
    while (lines.has(token))
    const body = heredoc.endsWith('\n') ? heredoc : `${heredoc}\n`
    return this.send(`${encodeCommandLine(args)} << ${token}\n${body}${token}`, args[0] ?? '', true)
  }

  async ping(): Promise<void> {
    const r = await this.ok('ping')
    if (!r.body.startsWith('PONG')) throw new VarnishCliCommandFailed('ping', r.status, r.body)
  }

  /** The cache child's state: `running`, `stopped`, ... */
  async status(): Promise<string> {
    const r = await this.ok('status')
    return /Child in state (\S+)/.exec(r.body)?.[1] ?? r.body.trim()
  }

  /**
   * Adds a ban. `expression` is Varnish ban syntax: `field op arg [&& field op arg ...]`; an arg may be
   * double-quoted (with \" and \\) to hold spaces. Validated here; a space in a regex arg is sent as `\x20`.
   */
  async ban(expression: string): Promise<void> {
    await this.ok('ban', ...banTokens(expression))
  }

  async banList(): Promise<BanEntry[]> {
    return parseBanList((await this.ok('ban.list')).body)
  }

  async backendList(pattern?: string): Promise<BackendHealth[]> {
    const r = await this.ok('backend.list', '-j', ...(pattern === undefined ? [] : [pattern]))
    return parseBackendListJson(r.body)
  }

  async backendSetHealth(pattern: string, state: 'auto' | 'healthy' | 'sick'): Promise<void> {
    await this.ok('backend.set_health', pattern, state)
  }

  async vclInline(name: string, source: string): Promise<void> {
    const r = await this.commandWithHeredoc(['vcl.inline', name], source)
    if (r.status !== CliStatus.OK) throw new VarnishCliCommandFailed(`vcl.inline ${name}`, r.status, r.body)
  }

  async vclUse(name: string): Promise<void> {
    await this.ok('vcl.use', name)
  }

  async vclDiscard(name: string): Promise<void> {
    await this.ok('vcl.discard', name)
  }

  async vclList(): Promise<VclEntry[]> {
    const r = await this.ok('vcl.list', '-j')
    return jsonPayload(r.body, 'vcl.list -j').map((e) => {
      const o = e as Record<string, unknown>
      return {
        name: String(o['name']),
        status: String(o['status']),
        state: String(o['state']),
        temperature: String(o['temperature']),
        busy: Number(o['busy'] ?? 0),
      }
    })
  }

  async paramShow(name: string): Promise<ParamInfo> {
    const r = await this.ok('param.show', '-j', name)
    const [first] = jsonPayload(r.body, `param.show -j ${name}`)
    if (!first || typeof first !== 'object') throw new VarnishCliCommandFailed(`param.show -j ${name}`, r.status, r.body)
    return first as ParamInfo
  }

  async paramSet(name: string, value: string): Promise<void> {
    await this.ok('param.set', name, value)
  }

  /** Says `quit` when possible and closes the socket. Pending commands are rejected. */
  async close(): Promise<void> {
    if (this.closedError) return
    this.closing = true
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()))
    this.fail(new VarnishCliUnreachable(this.address, 'was closed by this client'))
    this.socket.end('quit\n')
    const t = setTimeout(() => this.socket.destroy(), 1000)
    await closed
    clearTimeout(t)
  }

  // ---------------------------------------------------------------------------------------- internals

  private async ok(...args: string[]): Promise<CliResponse> {
    const r = await this.command(...args)
    if (r.status !== CliStatus.OK) throw new VarnishCliCommandFailed(args.join(' '), r.status, r.body)
    return r
  }

  private send(wire: string, label: string, queued: boolean): Promise<CliResponse> {
    if (this.closedError) return Promise.reject(this.closedError)
    return new Promise<CliResponse>((resolve, reject) => {
      const item: Queued = { wire, label, resolve, reject }
      if (queued) this.queue.push(item)
      else this.queue.unshift(item)
      this.pump()
    })
  }

  private pump(): void {
    if (this.inFlight || this.closedError) return
    const next = this.queue.shift()
    if (!next) return
    this.inFlight = next
    this.timer = setTimeout(() => {
      this.fail(new VarnishCliTimeout(this.address, `"${next.label}"`, this.commandTimeoutMs))
    }, this.commandTimeoutMs)
    this.socket.write(`${next.wire}\n`)
  }

  private onData(chunk: Buffer): void {
    let responses: CliResponse[]
    try {
      responses = this.reader.push(chunk)
    } catch (err) {
      this.fail(new VarnishCliUnreachable(this.address, 'does not speak the varnish CLI protocol (is it the -T port?)', err))
      return
    }
    for (const r of responses) {
      const current = this.inFlight
      if (!current) {
        this.fail(new VarnishCliUnreachable(this.address, `sent a response nobody asked for (status ${r.status})`))
        return
      }
      clearTimeout(this.timer)
      this.inFlight = undefined
      current.resolve(r)
      if (r.status === CliStatus.CLOSE) {
        // varnishd hangs up after a 500; nothing else will be answered on this connection.
        this.fail(new VarnishCliUnreachable(this.address, 'closed the session (status 500)'))
        return
      }
    }
    this.pump()
  }

  private socketError(err: NodeJS.ErrnoException): Error {
    const how = err.code === 'ECONNREFUSED' ? 'refused the connection'
      : err.code === 'ETIMEDOUT' ? 'did not accept the connection in time'
      : `failed (${err.code ?? err.message})`
    return new VarnishCliUnreachable(this.address, how, err)
  }

  /** Marks the connection dead: rejects the in-flight and queued commands, destroys the socket. */
  private fail(err: Error): void {
    if (this.closedError) return
    this.closedError = err
    clearTimeout(this.timer)
    const pending = [...(this.inFlight ? [this.inFlight] : []), ...this.queue.splice(0)]
    this.inFlight = undefined
    for (const p of pending) p.reject(err)
    if (!this.closing) this.socket.destroy()
  }
}

// -------------------------------------------------------------------------------------------- parsing

/** `ban.list` text: "Present bans:" then `%10.6f %5u C|-  spec` per ban (debug adds flags and a pointer). */
export function parseBanList(body: string): BanEntry[] {
  const out: BanEntry[] = []
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('Present bans')) continue
    const m = /^\s*(\d+\.\d+)\s+(\d+)\s+([C-])(?:[R-][O-] \S+ )?  (.*)$/.exec(line)
    if (!m) continue
    out.push({ time: Number(m[1]), objects: Number(m[2]), completed: m[3] === 'C', spec: m[4]!.trimEnd() })
  }
  return out
}

/** `*.list -j` bodies: `[version, [argv...], timestamp, payload...]`; returns the payload items. */
function jsonPayload(body: string, what: string): unknown[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch (err) {
    throw new VarnishCliCommandFailed(what, CliStatus.OK, `answer is not JSON (${(err as Error).message})`)
  }
  if (!Array.isArray(parsed) || parsed.length < 3) {
    throw new VarnishCliCommandFailed(what, CliStatus.OK, 'answer is not the [version, argv, time, ...] JSON shape')
  }
  return parsed.slice(3)
}

function asHealth(v: unknown): BackendHealthState {
  return v === 'healthy' || v === 'sick' ? v : 'unknown'
}

/**
 * `backend.list -j` in 7.1.1:
 * `[3, ["backend.list","-j"], 1795703101.297, { "p.default": { "type": "backend", "admin_health": "probe",
 *   "probe_message": [2, 3, "healthy"], "last_change": 1795703101.292 }, ... }]`
 * admin_health is "probe" for an auto backend with a probe, "healthy" for an auto backend without one, and
 * "healthy"/"sick" when forced with backend.set_health; probe_message is [good, window, verdict], [0, 0,
 * "healthy"] without a probe. The text form's "Health" column is the probe verdict, not the effective state.
 */
export function parseBackendListJson(body: string): BackendHealth[] {
  const out: BackendHealth[] = []
  for (const item of jsonPayload(body, 'backend.list -j')) {
    if (!item || typeof item !== 'object') continue
    for (const [name, raw] of Object.entries(item as Record<string, unknown>)) {
      const b = (raw ?? {}) as Record<string, unknown>
      const admin = typeof b['admin_health'] === 'string' ? b['admin_health'] : 'unknown'
      const pm = Array.isArray(b['probe_message']) ? b['probe_message'] : undefined
      const probe = pm && typeof pm[1] === 'number' && pm[1] > 0
        ? { good: Number(pm[0]), window: pm[1], health: asHealth(pm[2]) }
        : undefined
      const health: BackendHealthState = admin === 'sick' ? 'sick'
        : admin === 'probe' ? (probe?.health ?? asHealth(pm?.[2]))
        : admin === 'healthy' ? 'healthy'
        : asHealth(pm?.[2])
      const lc = b['last_change']
      out.push({
        name,
        type: typeof b['type'] === 'string' ? b['type'] : 'unknown',
        admin,
        ...(probe ? { probe } : {}),
        health,
        ...(typeof lc === 'number' ? { lastChange: new Date(Math.round(lc * 1000)) } : {}),
      })
    }
  }
  return out
}

// ----------------------------------------------------------------------------------------------- bans

const BAN_FIELD = /^(?:req\.url|req\.http\.[A-Za-z0-9!#$%&'*+.^_`|~-]+|obj\.status|obj\.ttl|obj\.age|obj\.grace|obj\.keep|obj\.http\.[A-Za-z0-9!#$%&'*+.^_`|~-]+)$/
const BAN_OPS = new Set(['==', '!=', '~', '!~', '<', '<=', '>', '>='])

function splitBanExpression(expression: string): string[] {
  const tokens: string[] = []
  let i = 0
  while (i < expression.length) {
    const c = expression[i]!
    if (/\s/.test(c)) { i++; continue }
    if (c === '"') {
      let tok = ''
      i++
      for (;;) {
        if (i >= expression.length) throw new InvalidBan('expression', 'unterminated double quote')
        const d = expression[i]!
        if (d === '"') { i++; break }
        if (d === '\\' && (expression[i + 1] === '"' || expression[i + 1] === '\\')) { tok += expression[i + 1]; i += 2; continue }
        tok += d
        i++
      }
      if (i < expression.length && !/\s/.test(expression[i]!)) throw new InvalidBan('expression', 'a quoted argument must be followed by whitespace')
      tokens.push(tok)
      continue
    }
    let tok = ''
    while (i < expression.length && !/\s/.test(expression[i]!)) {
      if (expression[i] === '"') throw new InvalidBan('expression', 'a double quote may only open an argument')
      tok += expression[i]
      i++
    }
    tokens.push(tok)
  }
  return tokens
}

/** A space in a regex becomes `\x20` (an escaped space `\ ` too), which PCRE reads as a space. */
function regexWithoutSpaces(re: string): string {
  let out = ''
  for (let i = 0; i < re.length; i++) {
    const c = re[i]!
    if (c === '\\' && i + 1 < re.length) {
      out += re[i + 1] === ' ' ? '\\x20' : c + re[i + 1]
      i++
    } else {
      out += c === ' ' ? '\\x20' : c
    }
  }
  return out
}

/** Validates a ban expression and returns the tokens to send (see the header comment about spaces). */
export function banTokens(expression: string): string[] {
  const tokens = splitBanExpression(expression)
  if (tokens.length < 3 || (tokens.length + 1) % 4 !== 0) {
    throw new InvalidBan('expression', `expected "field operator argument [&& field operator argument ...]", got ${tokens.length} tokens`)
  }
  const out: string[] = []
  for (let i = 0; i < tokens.length; i += 4) {
    if (i > 0) {
      if (tokens[i - 1] !== '&&') throw new InvalidBan('expression', `expected && between conditions, found "${tokens[i - 1]}"`)
      out.push('&&')
    }
    const [field, op, arg] = [tokens[i]!, tokens[i + 1]!, tokens[i + 2]!]
    if (!BAN_FIELD.test(field)) throw new InvalidBan('expression', `"${field}" is not a ban field (req.url, req.http.*, obj.status, obj.http.*, obj.ttl/age/grace/keep)`)
    if (!BAN_OPS.has(op)) throw new InvalidBan('expression', `"${op}" is not a ban operator (== != ~ !~ < <= > >=)`)
    if (arg === '') throw new InvalidBan('expression', `empty argument for ${field}`)
    let value = arg
    if (arg.includes(' ')) {
      if (op !== '~' && op !== '!~') {
        throw new InvalidBan('expression', `varnishd 7.1.1 cannot carry a space in a "${op}" ban argument; use a regex (~) instead`)
      }
      value = regexWithoutSpaces(arg)
    }
    if (value === '<<') throw new InvalidBan('expression', '"<<" cannot be a ban argument (varnishd reads it as a here-document)')
    out.push(field, op, value)
  }
  return out
}
