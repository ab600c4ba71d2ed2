import type { FastifyInstance } from 'fastify';
import { Gauge, Histogram, type Registry } from 'prom-client';

/** Buckets of HTTP request durations, in seconds: OpenTelemetry's for `http.server.request.duration`. */
export const HTTP_DURATION_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);

/** The `route` label of a request that matched no route (a 404): never the raw URL. */
export const UNMATCHED_ROUTE = '(unmatched)';

/** Methods reported as they are; any other is reported as `_OTHER` (OpenTelemetry's convention), so the label stays bounded. */
const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

const DURATION_NAME = 'http_server_request_duration_seconds';
const ACTIVE_NAME = 'http_server_active_requests';

type DurationLabels = 'method' | 'route' | 'status_code';

/** The family named `name` in `registry` if one is there already (a second service on the same registry), else a new one. */
function existing<T>(registry: Registry, name: string, type: abstract new (...args: never[]) => T): T | undefined {
  const found = registry.getSingleMetric(name);
  return found instanceof type ? found : undefined;
}

/**
 * Reports every request of `app` into `registry` (the database's, so `/metrics` serves one
 * exposition), OpenTelemetry's HTTP server semantics in Prometheus form:
 * - `http_server_request_duration_seconds` histogram, labels `method`, `route` (the route pattern,
 *   e.g. `/history/:fingerprint`; `(unmatched)` for a 404, never the raw URL) and `status_code`;
 * - `http_server_active_requests` gauge: requests received and not yet answered (or abandoned).
 */
export function installHttpMetrics(app: FastifyInstance, registry: Registry): void {
  const duration =
    existing(registry, DURATION_NAME, Histogram<DurationLabels>) ??
    new Histogram<DurationLabels>({
      name: DURATION_NAME,
      help: 'Duration of HTTP requests served, from the request line to the last byte of the response.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [...HTTP_DURATION_BUCKETS],
      registers: [registry],
    });
  const active =
    existing(registry, ACTIVE_NAME, Gauge<string>) ??
    new Gauge({ name: ACTIVE_NAME, help: 'HTTP requests being served.', registers: [registry] });

  app.addHook('onRequest', async (_request, reply) => {
    active.inc();
    // 'close' comes once per response, answered or abandoned by the client
    reply.raw.once('close', () => active.dec());
  });
  app.addHook('onResponse', async (request, reply) => {
    const method = KNOWN_METHODS.has(request.method) ? request.method : '_OTHER';
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    duration.observe({ method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}
