// The purge path as Prometheus metrics: purges sent per edge node and outcome, each node's durable queue,
// change events processed.
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, type Registry } from 'prom-client'
import { metricsOf } from '../platform/metrics.js'
import type { EventBacklog, EventLog } from './event-log.js'
import type { Purger } from './purger.js'

export function addPurgeMetrics(registry: Registry, purger: Purger): void {
  const sent = new Counter({
    name: 'tessera_purges_sent_total',
    help: 'Purges per edge node: ok (acknowledged), failed (not taken; queued for retry), queued (behind earlier ones)',
    labelNames: ['node', 'result'] as const,
    registers: [registry],
  })
  for (const node of purger.nodes) sent.inc({ node, result: 'ok' }, 0)
  purger.observe((node, _target, outcome) => sent.inc({ node, result: outcome }))

  new Gauge({
    name: 'tessera_purge_queue_length',
    help: "Purges waiting in each edge node's durable queue (a node that is down or lagging)",
    labelNames: ['node'] as const,
    registers: [registry],
    async collect() {
      for (const { node, pending } of await purger.lag()) this.set({ node }, pending)
    },
  })
}

/** Change events the consumer has taken (read, purged, acknowledged). */
export function countProcessedEvents(app: FastifyInstance, processed: () => number): void {
  let counted = 0
  new Counter({
    name: 'tessera_events_processed_total',
    help: 'Content change events this purge service processed (purged on every node, or queued, then acknowledged)',
    registers: [metricsOf(app)],
    collect() {
      const now = processed()
      if (now > counted) this.inc(now - counted)
      counted = now
    },
  })
}

/** The change stream's backlog (what the slowest consumer group has not acknowledged), its cap, and its length. */
export function addEventBacklogMetrics(app: FastifyInstance, eventLog: EventLog): void {
  const gauge = (name: string, help: string, value: (s: EventBacklog) => number) =>
    new Gauge({
      name,
      help,
      registers: [metricsOf(app)],
      async collect() {
        this.set(value(await eventLog.status()))
      },
    })
  gauge('tessera_events_backlog', 'Change events the slowest consumer group has not acknowledged (pending + not yet delivered)', (s) => s.backlog)
  gauge('tessera_events_backlog_cap', 'TESSERA_EVENTS_BACKLOG_CAP: the backlog of change events above which the purge service reports it', (s) => s.cap)
  gauge('tessera_events_backlog_over_cap', '1 while the change stream backlog is over TESSERA_EVENTS_BACKLOG_CAP (a consumer group is behind; nothing is dropped)', (s) => (s.overCap ? 1 : 0))
  gauge('tessera_events_stream_length', 'Entries in tessera:events after the last trim (XTRIM MINID below what every group acknowledged)', (s) => s.length)
}
