// The purge API as an OpenAPI 3.1 document, served at GET /openapi.json.
import { FRAGMENT_NAMES } from '../platform/config.js'
import { PURGEABLE_KEY_PATTERN } from '../cache/keys.js'

const error = { $ref: '#/components/schemas/Error' }
const purgeBody = {
  type: 'object',
  additionalProperties: false,
  description: 'At least one non-empty list; at most 1000 keys and URLs in all.',
  properties: {
    keys: { type: 'array', items: { type: 'string', pattern: PURGEABLE_KEY_PATTERN }, description: 'surrogate keys: Tessera\'s (article:42) or what a legacy CMS sent in xkey or Surrogate-Key: a letter or digit, then letters, digits and . _ : / @ + = % -', examples: [['article:42', 'list:latest.12', 'video_Harbour/2019']] },
    articles: { type: 'array', items: { type: 'string' }, description: 'article ids -> every object showing it: article:<id>, article-head:<id>, article-teaser:<id>, article-link:<id>' },
    sections: { type: 'array', items: { type: 'string' }, description: 'section slugs -> every object showing it: section:<slug>, section-title:<slug>, list:section-<slug>.12, nav-sections' },
    blocks: { type: 'array', items: { type: 'string' }, description: 'block ids -> block:<id>' },
    urls: { type: 'array', items: { type: 'string', pattern: '^/' }, description: 'site paths, purged one by one' },
    mode: { enum: ['hard', 'soft'], default: 'hard', description: 'soft: readers get the stale copy once while it refreshes' },
    warm: { type: 'boolean', default: false, description: 'after purging, re-fetch the affected URLs through every edge node' },
  },
}
const responses = (ok: object) => ({
  ...ok,
  '400': { description: 'Invalid input; nothing was done', content: { 'application/json': { schema: error } } },
  '401': { description: 'Missing or wrong bearer token', content: { 'application/json': { schema: error } } },
})

const opsOnly = (ok: object) =>
  responses({ ...ok, '403': { description: 'The editor token: cache policies need TESSERA_OPS_TOKEN', content: { 'application/json': { schema: error } } } })
const fragmentParam = { name: 'fragment', in: 'path', required: true, schema: { enum: FRAGMENT_NAMES } }
const unknownFragment = { '404': { description: 'No such fragment', content: { 'application/json': { schema: error } } } }
const policyChanged = {
  content: { 'application/json': { schema: { allOf: [{ $ref: '#/components/schemas/FragmentPolicy' }, { type: 'object', properties: { changed: { type: 'boolean' }, purge: { $ref: '#/components/schemas/PurgeRecord' } } }] } } },
}

export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'Tessera purge service', version: '1.0.0', description: 'Exact, acknowledged invalidation on every edge node.' },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'TESSERA_EDITOR_TOKEN (or TESSERA_OPS_TOKEN)' },
      ops: { type: 'http', scheme: 'bearer', description: 'TESSERA_OPS_TOKEN only' },
    },
    schemas: {
      Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } } },
      PurgeRequest: purgeBody,
      NodeResult: {
        type: 'object',
        properties: { node: { type: 'string' }, ok: { type: 'boolean' }, status: { type: 'integer' }, purged: { type: 'integer' }, ms: { type: 'number' }, queued: { type: 'boolean' }, error: error },
      },
      Policy: {
        type: 'object',
        additionalProperties: false,
        required: ['ttl', 'grace', 'keep'],
        description: 'Seconds: TTL (s-maxage), grace (stale-while-revalidate), keep (stale-if-error)',
        properties: { ttl: { type: 'integer', minimum: 0, maximum: 604800 }, grace: { type: 'integer', minimum: 0, maximum: 86400 }, keep: { type: 'integer', minimum: 0, maximum: 2592000 } },
        examples: [{ ttl: 60, grace: 30, keep: 3600 }],
      },
      PolicyOverride: {
        allOf: [{ $ref: '#/components/schemas/Policy' }, { type: 'object', properties: { updatedAt: { type: 'string', format: 'date-time' }, by: { enum: ['ops', 'file'] } } }],
      },
      FragmentPolicy: {
        type: 'object',
        properties: {
          fragment: { type: 'string' }, default: { $ref: '#/components/schemas/Policy' }, override: { $ref: '#/components/schemas/PolicyOverride' },
          effective: { $ref: '#/components/schemas/Policy' }, source: { enum: ['default', 'override'] },
        },
      },
      PolicyAuditEntry: {
        type: 'object',
        properties: {
          who: { type: 'string' }, what: { enum: ['set', 'clear'] }, fragment: { type: 'string' }, when: { type: 'string', format: 'date-time' },
          before: { oneOf: [{ $ref: '#/components/schemas/PolicyOverride' }, { type: 'null' }] }, after: { oneOf: [{ $ref: '#/components/schemas/PolicyOverride' }, { type: 'null' }] },
        },
      },
      PurgeRecord: {
        type: 'object',
        properties: {
          id: { type: 'string' }, at: { type: 'string', format: 'date-time' }, who: { type: 'string' }, source: { enum: ['api', 'event'] },
          mode: { enum: ['hard', 'soft'] }, keys: { type: 'array', items: { type: 'string' } }, urls: { type: 'array', items: { type: 'string' } },
          complete: { type: 'boolean' }, nodes: { type: 'array', items: { $ref: '#/components/schemas/NodeResult' } },
        },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/purges': {
      post: {
        summary: 'Purge, and answer once every edge node acknowledged (or with the per-node failures)',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/PurgeRequest' } } } },
        responses: responses({
          '200': { description: 'Every node acknowledged', content: { 'application/json': { schema: { $ref: '#/components/schemas/PurgeRecord' } } } },
          '202': { description: 'Some nodes failed; the purge is queued for them and retried until they converge', content: { 'application/json': { schema: { $ref: '#/components/schemas/PurgeRecord' } } } },
        }),
      },
      get: {
        summary: 'Audit log of recent purges, newest first',
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } }],
        responses: responses({ '200': { description: 'Recent purges', content: { 'application/json': { schema: { type: 'object', properties: { purges: { type: 'array', items: { $ref: '#/components/schemas/PurgeRecord' } } } } } } } }),
      },
    },
    '/purges/preview': {
      post: {
        summary: 'The URLs a purge would hit (from the key -> URL index written at render time); purges nothing',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/PurgeRequest' } } } },
        responses: responses({ '200': { description: 'Keys and URLs', content: { 'application/json': { schema: { type: 'object', properties: { keys: { type: 'array' }, urls: { type: 'array' }, count: { type: 'integer' } } } } } } }),
      },
    },
    '/edges': {
      get: {
        summary: 'Each node of the live edge set: name, node (URL), state (joining, warming, ready, lagging, removed), warm-up, admin CLI reachability, backend health, purge queue and lag; and the change stream (events): its length, the backlog the slowest consumer group has not acknowledged, TESSERA_EVENTS_BACKLOG_CAP and whether the backlog is over it',
        responses: responses({ '200': { description: 'Edge nodes and the change stream', content: { 'application/json': { schema: { type: 'object', properties: { edges: { type: 'array' }, events: { type: 'object', properties: { length: { type: 'integer' }, backlog: { type: 'integer' }, cap: { type: 'integer' }, overCap: { type: 'boolean' }, groups: { type: 'array' }, trimmed: { type: 'integer' }, checkedAt: { type: 'string' } } } } } } } } }),
      },
    },
    '/edges/{name}': {
      put: {
        security: [{ ops: [] }],
        summary: 'An edge node joins the live edge set (kept in Redis, the same for every purge-service instance): the current site VCL is loaded on it, it gets every purge from this answer on, then (warm: N) the N most-read pages are fetched through its own front before it is ready. Audited. Bad input: 400 with its field; a node that refuses the VCL 422 TESSERA_VCL_REFUSED, an admin address that does not answer 422 TESSERA_EDGE_ADMIN_UNREACHABLE; nothing is changed',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,30}$' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['url', 'admin'], additionalProperties: false, properties: { url: { type: 'string', description: 'http://host:port, its front' }, admin: { type: 'string', description: 'host:port, varnishd -T' }, workdir: { type: 'string', description: 'varnishd -n, for a node on this machine' }, inner: { type: 'string', description: "host:port, the page tier's inner address (default 127.0.0.1:<front port + 1>)" }, warm: { type: 'integer', minimum: 0, maximum: 1000 } } } } } },
        responses: opsOnly({ '201': { description: 'Joined (state warming or ready)' }, '200': { description: 'Already in the set as given' }, '409': { description: 'The name, URL or admin address is another node\'s' }, '422': { description: 'The node did not take the site VCL' } }),
      },
      delete: {
        security: [{ ops: [] }],
        summary: 'An edge node leaves: no purge is sent to it any more and its durable queue is deleted (droppedPurges). Audited',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        responses: opsOnly({ '200': { description: 'Removed' }, '404': { description: 'Not in the live edge set' } }),
      },
    },
    '/edges/audit': {
      get: {
        security: [{ ops: [] }],
        summary: 'Every join, leave and topology reload (who, when, which node), newest first',
        responses: opsOnly({ '200': { description: 'Audit entries' } }),
      },
    },
    '/topology/reload': {
      post: {
        security: [{ ops: [] }],
        summary: 'What `npm run topology -- reload` does, for the live edge set: the site VCL generated from the topology file (or the defaults) and loaded on every shield and edge (vcl.inline + vcl.use); older VCLs discarded',
        responses: opsOnly({ '200': { description: 'Every node runs the new VCL' }, '422': { description: 'Refused by varnishd (the running VCL stays)' }, '502': { description: 'Some node did not answer' } }),
      },
    },
    '/stats/top': {
      get: {
        security: [{ ops: [] }],
        summary: "The most-read pages (readers' page deliveries answered 200) over the edge nodes with a work dir on this machine, from what their shared logs still hold (varnishtop), most read first",
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 20 } }],
        responses: opsOnly({ '200': { description: 'Pages with their reads' } }),
      },
    },
    '/bans': {
      post: {
        summary: 'Ban by URL prefix or regex on every node, through the Varnish admin CLI; a second ban (pageTierExpression) takes the page tier copies of assembled pages at a banned URL or including one',
        requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [{ type: 'object', required: ['prefix'], properties: { prefix: { type: 'string' } } }, { type: 'object', required: ['regex'], properties: { regex: { type: 'string' } } }] } } } },
        responses: responses({ '200': { description: 'Every node took the ban' }, '502': { description: 'Some node did not; see nodes' } }),
      },
    },
    '/policies': {
      get: {
        security: [{ ops: [] }],
        summary: "Every fragment's cache policy: its default (from its code), the ops override if any, the effective one and where it comes from",
        responses: opsOnly({ '200': { description: 'Policies', content: { 'application/json': { schema: { type: 'object', properties: { policies: { type: 'array', items: { $ref: '#/components/schemas/FragmentPolicy' } } } } } } } }),
      },
    },
    '/policies/audit': {
      get: {
        security: [{ ops: [] }],
        summary: 'Every override set or cleared (API or TESSERA_TTL_FILE), newest first',
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } }],
        responses: opsOnly({ '200': { description: 'Audit entries', content: { 'application/json': { schema: { type: 'object', properties: { audit: { type: 'array', items: { $ref: '#/components/schemas/PolicyAuditEntry' } } } } } } } }),
      },
    },
    '/policies/{fragment}': {
      get: {
        security: [{ ops: [] }],
        summary: "One fragment's cache policy",
        parameters: [fragmentParam],
        responses: opsOnly({ '200': { description: 'Policy', content: { 'application/json': { schema: { $ref: '#/components/schemas/FragmentPolicy' } } } }, ...unknownFragment }),
      },
      put: {
        security: [{ ops: [] }],
        summary: 'Override the policy: stored, applied by every instance of the fragment service within a second, then the fragment soft-purged on every edge node',
        parameters: [fragmentParam],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Policy' } } } },
        responses: opsOnly({
          '200': { description: 'Set, and every node took the soft purge', ...policyChanged },
          '202': { description: 'Set; some node did not take the soft purge yet (queued for it)', ...policyChanged },
          ...unknownFragment,
        }),
      },
      delete: {
        security: [{ ops: [] }],
        summary: "Clear the override: the fragment's default applies again, the same way (published, then soft-purged)",
        parameters: [fragmentParam],
        responses: opsOnly({
          '200': { description: 'Cleared (changed: false and no purge when there was no override)', ...policyChanged },
          '202': { description: 'Cleared; some node did not take the soft purge yet (queued for it)', ...policyChanged },
          ...unknownFragment,
        }),
      },
    },
    '/health': { get: { security: [], summary: 'Liveness', responses: { '200': { description: 'ok' } } } },
  },
} as const
