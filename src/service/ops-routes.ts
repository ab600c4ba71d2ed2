import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { HealthChecker } from '../observability/health-checker.js';
import { HEALTH_HTTP_STATUS } from '../observability/http-handlers.js';
import { QueryReader } from './query-reader.js';

/**
 * The operational endpoints:
 * - `GET /healthz`: liveness, 200 `{"status":"alive"}` while the process answers; never touches the database;
 * - `GET /readyz`: the health checker's latest report (a check runs when there is none yet), 200
 *   when healthy or degraded, 503 when unhealthy;
 * - `GET /metrics`: `registry` in Prometheus text format (pool, query and HTTP metrics).
 */
export function registerOpsRoutes(app: FastifyInstance, health: HealthChecker, registry: Registry): void {
  app.get('/healthz', async (request, reply) => {
    new QueryReader(request.query, []);
    return reply.header('cache-control', 'no-store').send({ status: 'alive' });
  });

  app.get('/readyz', async (request, reply) => {
    new QueryReader(request.query, []);
    let report = health.report();
    if (report.checkedAt === null) report = await health.check();
    return reply
      .code(HEALTH_HTTP_STATUS[report.status] ?? 503)
      .header('cache-control', 'no-store')
      .send(report);
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await registry.metrics();
    return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(body);
  });
}
