// The change stream `tessera:events` is never capped by the writers (no MAXLEN on XADD: a blind cap would drop
// entries a consumer group has not read, and their purges with them). The purge service trims it here, with
// XTRIM MINID (which keeps entries >= its id), below the oldest entry some consumer group still needs: its
// oldest pending (delivered, not acknowledged) entry, or its last delivered entry when nothing is pending (all
// before it are acknowledged; it is kept so the stream still shows the last id the groups have seen). A stream with no
// consumer group is not trimmed at all (the purge service creates its group from the stream's start).
//
// The backlog is what the slowest group has not acknowledged yet (pending + not yet delivered). Past
// `cap` (TESSERA_EVENTS_BACKLOG_CAP), GET /edges and /metrics say so; writes still succeed, nothing is dropped.
import type { Redis } from 'ioredis'
import { EVENTS_STREAM } from '../content/model.js'
import type { Logger } from '../platform/log.js'

export interface GroupBacklog {
  group: string
  pending: number
  /** Entries not delivered to the group yet. */
  undelivered: number
  lastDeliveredId: string
}

export interface EventBacklog {
  /** Entries in the stream now (after the last trim). */
  length: number
  /** The slowest group's unacknowledged entries (pending + undelivered); the stream length when there is no group. */
  backlog: number
  cap: number
  overCap: boolean
  groups: GroupBacklog[]
  /** Entries the last trim removed (all acknowledged by every group). */
  trimmed: number
  /** Entries below this id were trimmed (acknowledged by every group), when a trim ran. */
  trimmedBelow?: string
  checkedAt: string
}

export interface EventLogOptions {
  redis: Redis
  cap: number
  intervalMs: number
  log: Logger
  stream?: string
}

/** Stream ids ("ms-seq") compared as the pairs of integers they are. */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint]
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint]
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1
}

const fieldsOf = (flat: unknown[]): Record<string, unknown> => Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [String(flat[i * 2]), flat[i * 2 + 1]]))

export class EventLog {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<EventBacklog> | undefined
  private last: EventBacklog | undefined
  private warnedOver = false
  private readonly stream: string

  constructor(private readonly options: EventLogOptions) {
    this.stream = options.stream ?? EVENTS_STREAM
  }

  /** Trims every `intervalMs`; the first run is now. */
  start(): void {
    const tick = () => {
      void this.trim()
        .catch((err) => this.options.log.warn({ err, code: 'TESSERA_EVENT_TRIM_FAILED' }, 'could not trim the change stream; retrying'))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.options.intervalMs).unref()
        })
    }
    this.timer = setTimeout(tick, 0).unref()
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  /** The backlog as of the last trim, or measured now if none ran yet. */
  async status(): Promise<EventBacklog> {
    return this.last ?? this.trim()
  }

  /** One trim: measure each group, XTRIM MINID below what every group still needs, report the backlog. */
  trim(): Promise<EventBacklog> {
    // one at a time: the timer and a status() call share the run
    this.running ??= this.trimOnce().finally(() => (this.running = undefined))
    return this.running
  }

  private async trimOnce(): Promise<EventBacklog> {
    const { redis, cap } = this.options
    const length = await redis.xlen(this.stream)
    let groups: GroupBacklog[] = []
    let trimmed = 0
    let floor: string | undefined
    if (length > 0) {
      const infos = ((await redis.xinfo('GROUPS', this.stream).catch(() => [])) as unknown[][]).map(fieldsOf)
      groups = await Promise.all(infos.map((info) => this.groupBacklog(info, length)))
      for (const [i, group] of groups.entries()) {
        // nothing pending: everything up to the last delivered entry is acknowledged; that one entry is kept, so
        // the stream always shows the last id every group has seen (an empty stream would not)
        const needs = group.pending > 0 ? await this.oldestPending(String(infos[i]!.name)) : group.lastDeliveredId
        if (needs !== undefined && (floor === undefined || compareIds(needs, floor) < 0)) floor = needs
      }
      if (groups.length > 0 && floor !== undefined) trimmed = Number(await redis.xtrim(this.stream, 'MINID', floor))
    }
    const backlog = groups.length === 0 ? length : Math.max(0, ...groups.map((g) => g.pending + g.undelivered))
    const status: EventBacklog = {
      length: length - trimmed,
      backlog,
      cap,
      overCap: backlog > cap,
      groups,
      trimmed,
      ...(trimmed > 0 && floor !== undefined ? { trimmedBelow: floor } : {}),
      checkedAt: new Date().toISOString(),
    }
    if (status.overCap && !this.warnedOver) {
      this.options.log.warn({ code: 'TESSERA_EVENT_BACKLOG', backlog, cap, groups }, `change stream backlog ${backlog} is over TESSERA_EVENTS_BACKLOG_CAP (${cap}): a consumer group is behind; nothing is dropped`)
    } else if (!status.overCap && this.warnedOver) {
      this.options.log.info({ backlog, cap }, 'change stream backlog back under the cap')
    }
    this.warnedOver = status.overCap
    this.last = status
    return status
  }

  private async groupBacklog(info: Record<string, unknown>, length: number): Promise<GroupBacklog> {
    const lastDeliveredId = String(info['last-delivered-id'] ?? '0-0')
    const pending = Number(info.pending ?? 0)
    // Redis 7 reports `lag` (entries not delivered yet); it is null when it cannot tell (after deletions):
    // then count the entries after the last delivered one.
    let undelivered = typeof info.lag === 'number' ? info.lag : Number.NaN
    if (!Number.isFinite(undelivered)) {
      // at most cap + 1: enough to tell whether the backlog is over the cap, without reading the whole stream
      const after = await this.options.redis.xrange(this.stream, `(${lastDeliveredId}`, '+', 'COUNT', Math.min(Math.max(length, 1), this.options.cap + 1))
      undelivered = after.length
    }
    return { group: String(info.name), pending, undelivered, lastDeliveredId }
  }

  private async oldestPending(group: string): Promise<string | undefined> {
    const summary = (await this.options.redis.xpending(this.stream, group)) as [number, string | null, string | null, unknown]
    return summary[1] ?? undefined
  }
}
