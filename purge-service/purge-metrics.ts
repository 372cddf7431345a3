// The purge path as Prometheus metrics: purges sent per edge node and outcome, each node's durable queue,
// change events processed.
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, type Registry } from 'prom-client'
import { metricsOf } from '../fragments/kit/metrics.js'
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
