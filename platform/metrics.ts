// Prometheus metrics (prom-client). Every service built with createService serves `GET /metrics` from its
// own Registry (tests build several apps in one process): Node's default process metrics, the HTTP request
// duration by route and status, and what the parts of the app add (renders here; the purge service's own).
import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client'

const registries = new WeakMap<FastifyInstance, Registry>()

/** Seconds: a fragment renders in milliseconds; past 2.5 s the edge has given up on it. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** Gives `app` its Registry, the default metrics, the request duration histogram and `GET /metrics`. */
export function addMetrics(app: FastifyInstance, service: string): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry })
  const duration = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP requests this service answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  })
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: /fragments/article/:id is one series however many articles there are.
    const route = request.routeOptions.url ?? 'unmatched'
    duration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    reply.header('content-type', registry.contentType)
    return registry.metrics()
  })
  registries.set(app, registry)
  return registry
}

/** The Registry of an app made by createService. */
export function metricsOf(app: FastifyInstance): Registry {
  const registry = registries.get(app)
  if (!registry) throw new Error('this fastify app has no metrics registry; build it with createService()')
  return registry
}

/** One metric per registry, whatever number of routes asks for it. */
function once<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

type Render<R> = (params: Record<string, string>, now: Date) => Promise<R>

/**
 * Wraps a cached route's render with its metrics: renders and render failures by fragment, render duration.
 * `key` is the route's object key: `fragment:nav` is counted as `nav`, a page shell as `layout:<name>`.
 */
export function measureRenders<R>(app: FastifyInstance, key: string, render: Render<R>): Render<R> {
  const registry = metricsOf(app)
  const fragment = key.replace(/^fragment:/, '')
  const renders = once(registry, 'tessera_renders_total', () =>
    new Counter({ name: 'tessera_renders_total', help: 'Renders by fragment (each is one origin fetch, or a re-read when content changed under it)', labelNames: ['fragment'] as const, registers: [registry] }))
  const failures = once(registry, 'tessera_render_failures_total', () =>
    new Counter({ name: 'tessera_render_failures_total', help: 'Renders that failed (the edge serves its stale copy or the fallback)', labelNames: ['fragment'] as const, registers: [registry] }))
  const duration = once(registry, 'tessera_render_duration_seconds', () =>
    new Histogram({ name: 'tessera_render_duration_seconds', help: 'Render time by fragment, content reads included', labelNames: ['fragment'] as const, buckets: DURATION_BUCKETS, registers: [registry] }))
  // Zero from the start: a scrape shows every fragment this service serves, rendered or not.
  renders.inc({ fragment }, 0)
  failures.inc({ fragment }, 0)
  return async (params, now) => {
    const stop = duration.startTimer({ fragment })
    renders.inc({ fragment })
    try {
      return await render(params, now)
    } catch (err) {
      failures.inc({ fragment })
      throw err
    } finally {
      stop()
    }
  }
}
