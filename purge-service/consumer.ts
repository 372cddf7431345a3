// Content change events -> purges. A Redis consumer group gives at-least-once delivery: an event is
// acknowledged only after its purge reached every edge node or sits in a lagging node's durable queue; a
// crash between read and purge leaves it pending, and the next start (same consumer name) reads it again.
// Several purge-service instances share the group, each under its own name (host:port): an event goes to one of
// them, and what a dead one left pending is taken over by another once it has been idle claimIdleMs.
import os from 'node:os'
import type { Redis } from 'ioredis'
import type { Logger } from '../platform/log.js'
import { confirmReplicated } from '../platform/redis.js'
import { type ChangeEvent, changesOf, EVENTS_STREAM, type StreamEvent } from '../content/model.js'
import { keysForChange, keysForEvent, type ListReader, readOnce } from './keys-for-event.js'
import type { PurgeRecord, Purger } from './purger.js'

export const CONSUMER_GROUP = 'tessera-purgers'
const BATCH = 200
/** Entries another consumer left pending this long are taken over (that consumer is presumed dead). */
export const DEFAULT_CLAIM_IDLE_MS = 30_000
const DEAD_AFTER_CLAIMS = 10

type Entries = Array<[id: string, fields: string[]]>

export interface ConsumerOptions {
  redis: Redis // a dedicated connection: XREADGROUP blocks it
  purger: Purger
  log: Logger
  /** Unique per instance (server.ts: host:port); default: the host name. */
  consumerName?: string
  /** TESSERA_PURGE_CLAIM_IDLE_MS: how long another consumer's pending events wait before this one takes them. */
  claimIdleMs?: number
  blockMs?: number
  onPurged?: (record: PurgeRecord, events: ChangeEvent[]) => void
  /** The article lists as the content store has them now: a list is purged only where an article enters, leaves or moves (without it, every object showing a re-sorted list). */
  lists?: ListReader
}

export class EventConsumer {
  private running = false
  private loop: Promise<void> | undefined
  readonly name: string
  processed = 0

  constructor(private readonly options: ConsumerOptions) {
    this.name = options.consumerName ?? `${os.hostname()}`
  }

  async start(): Promise<void> {
    try {
      // From the stream's start: a group created late still purges for every change it has not seen.
      await this.options.redis.xgroup('CREATE', EVENTS_STREAM, CONSUMER_GROUP, '0', 'MKSTREAM')
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err
    }
    this.running = true
    this.loop = this.run()
  }

  async stop(): Promise<void> {
    this.running = false
    this.options.redis.disconnect() // unblocks XREADGROUP
    await this.loop
  }

  private async run(): Promise<void> {
    let ownPendingDone = false
    let lastClaim = 0
    while (this.running) {
      try {
        let entries: Entries = []
        if (!ownPendingDone) {
          // What this consumer read before a crash or restart and never acknowledged.
          entries = await this.read('0')
          if (entries.length === 0) ownPendingDone = true
        } else if (Date.now() - lastClaim > this.claimIdleMs / 2) {
          lastClaim = Date.now()
          const claimed = (await this.options.redis.xautoclaim(EVENTS_STREAM, CONSUMER_GROUP, this.name, this.claimIdleMs, '0', 'COUNT', BATCH)) as [string, Entries, string[]?]
          entries = claimed[1].filter((e) => e && e[1])
          if (claimed[0] !== '0-0') lastClaim = 0 // more to look at: the next turn claims on
          else await this.forgetDeadConsumers()
        }
        if (entries.length === 0) entries = await this.read('>')
        if (entries.length > 0) await this.handle(entries)
      } catch (err) {
        if (!this.running) return
        // What was read and not acknowledged (Redis went away, a failover) is read again from this consumer's
        // pending entries, on whichever primary the connection now reaches.
        ownPendingDone = false
        this.options.log.error({ err, code: 'TESSERA_CONSUMER_ERROR' }, 'event consumer error; retrying in 1 s')
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
  }

  /**
   * Instances that died (their events taken over, nothing pending) stay listed in the group: once idle ten claim
   * times they are removed (XGROUP DELCONSUMER). A live one that was only quiet is made again by its next read.
   */
  private async forgetDeadConsumers(): Promise<void> {
    const rows = (await this.options.redis.xinfo('CONSUMERS', EVENTS_STREAM, CONSUMER_GROUP)) as Array<Array<string | number>>
    for (const row of rows) {
      const c = Object.fromEntries(Array.from({ length: row.length / 2 }, (_, i) => [row[i * 2], row[i * 2 + 1]]))
      if (c.name === this.name || Number(c.pending) !== 0 || Number(c.idle) < this.claimIdleMs * DEAD_AFTER_CLAIMS) continue
      await this.options.redis.xgroup('DELCONSUMER', EVENTS_STREAM, CONSUMER_GROUP, String(c.name))
      this.options.log.info({ consumer: c.name, idleMs: Number(c.idle) }, 'removed a dead consumer from the group')
    }
  }

  private get claimIdleMs(): number {
    return this.options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS
  }

  private async read(from: '0' | '>'): Promise<Entries> {
    const args: Array<string | number> = ['GROUP', CONSUMER_GROUP, this.name, 'COUNT', BATCH]
    if (from === '>') args.push('BLOCK', this.options.blockMs ?? 1000)
    const result = (await (this.options.redis.xreadgroup as (...a: Array<string | number>) => Promise<unknown>)(...args, 'STREAMS', EVENTS_STREAM, from)) as Array<[string, Entries]> | null
    return result?.[0]?.[1] ?? []
  }

  private async handle(entries: Entries): Promise<void> {
    const events: ChangeEvent[] = []
    for (const [, fields] of entries) {
      const i = fields.indexOf('event')
      try {
        if (i !== -1) events.push(...changesOf(JSON.parse(fields[i + 1]) as StreamEvent)) // a batch: its changes, purged together
      } catch {
        this.options.log.error({ code: 'TESSERA_BAD_EVENT', fields }, 'unreadable change event skipped')
      }
    }
    const lists = this.options.lists && readOnce(this.options.lists) // one read per list for the whole batch
    const keys = [...new Set((await Promise.all(events.map((e) => (lists ? keysForChange(e, lists) : keysForEvent(e))))).flat())]
    let queued = false
    if (keys.length > 0) {
      const record = await this.options.purger.purge({ keys, urls: [] }, 'hard', { who: `events:${this.name}`, source: 'event' })
      queued = record.nodes.some((n) => n.queued)
      this.options.onPurged?.(record, events)
    }
    await this.options.redis.xack(EVENTS_STREAM, CONSUMER_GROUP, ...entries.map(([id]) => id))
    // An event whose purge waits in a node's queue is done only once a replica has the acknowledgement too.
    if (queued) await confirmReplicated(this.options.redis, `the acknowledgement of events ${entries[0][0]}..${entries[entries.length - 1][0]}`)
    this.processed += entries.length
  }
}
