import fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createAlertRepository } from '../alerts/alert-repository.js';
import type { AlertRepository } from '../alerts/alert-types.js';
import type { Database } from '../database/create-database.js';
import { createHealthChecker, type HealthChecker } from '../observability/health-checker.js';
import { componentLogger } from '../observability/logger-factory.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import type { DB } from '../schema/database.js';
import { registerHistoryRoutes } from './history-routes.js';
import { answerFor } from './http-errors.js';
import { installHttpMetrics } from './http-metrics.js';
import { registerMethodNotAllowed } from './method-not-allowed.js';
import { registerOpsRoutes } from './ops-routes.js';
import { SERVICE_DEFAULTS } from './service-config.js';
import type { ServiceContext } from './service-context.js';
import { registerWebhookRoute } from './webhook-route.js';

/** Options of {@link createService}. */
export interface ServiceOptions {
  /**
   * The database (from `createDatabase<DB>`): its pool, breaker, health checker and metrics
   * registry are used (with `metrics: false`, `/metrics` serves the HTTP metrics alone; with
   * `health: false`, `/readyz` checks on each request). The service never closes it.
   */
  readonly database: Database<DB>;
  /** The alert history queries. Default: `createAlertRepository(database.db)`. */
  readonly repository?: AlertRepository;
  /** Where requests (debug), database outages (warn) and failures (error) are logged. Default: silent. */
  readonly logger?: Logger;
  /** Largest request body, in bytes; larger ones get 413 without being read. Default 1 MiB. */
  readonly bodyLimitBytes?: number;
  /** The current time (the end of default query windows). Default `() => new Date()`. */
  readonly now?: () => Date;
}

/** Where {@link AlertHistoryService.listen} listens. */
export interface ListenOptions {
  readonly host: string;
  /** 0 for any free port. */
  readonly port: number;
}

/** The Alert History HTTP service, built and not yet listening. */
export interface AlertHistoryService {
  /** The fastify instance (`app.inject()` in tests). */
  readonly app: FastifyInstance;
  /** The registry `/metrics` serves: the database's, with the HTTP metrics added. */
  readonly registry: Registry;
  /** Starts listening; resolves to the service's URL, e.g. `http://127.0.0.1:8080`. */
  listen(options: ListenOptions): Promise<string>;
  /**
   * Stops accepting connections, lets the requests in flight finish (new requests meanwhile get
   * 503), closes idle keep-alive connections, then resolves. The database stays open (its owner
   * closes it). Idempotent.
   */
  close(): Promise<void>;
}

/** Paths and the methods they serve, for the 405 answers. */
const ROUTE_METHODS = [
  ['/webhook', ['POST']],
  ['/history', ['GET']],
  ['/history/:fingerprint', ['GET']],
  ['/history/top', ['GET']],
  ['/history/flapping', ['GET']],
  ['/history/stats', ['GET']],
  ['/alerts/active', ['GET']],
  ['/healthz', ['GET']],
  ['/readyz', ['GET']],
  ['/metrics', ['GET']],
] as const;

/** The database's health checker, or one of our own (checking on each `/readyz` only) when it has none. */
function healthOf(database: Database<DB>): HealthChecker {
  return database.health ?? createHealthChecker({ pool: database.pool, ...(database.breaker === undefined ? {} : { breaker: database.breaker }) });
}

/**
 * Builds the Alert History HTTP service on `options.database` (see docs/service.md): `POST
 * /webhook`, the history endpoints, `/healthz`, `/readyz` and `/metrics`, with HTTP metrics in
 * the database's registry and every error answered as JSON (`{ error, … }`).
 */
export async function createService(options: ServiceOptions): Promise<AlertHistoryService> {
  const { database } = options;
  const logger = options.logger ?? silentLogger;
  const httpLogger = componentLogger(logger, 'http');
  const bodyLimitBytes = options.bodyLimitBytes ?? SERVICE_DEFAULTS.bodyLimitBytes;
  if (!Number.isSafeInteger(bodyLimitBytes) || bodyLimitBytes < 1) throw new TypeError('bodyLimitBytes must be a positive integer');
  const registry = database.metrics?.registry ?? new Registry();
  const context: ServiceContext = {
    repository: options.repository ?? createAlertRepository(database.db, { logger: componentLogger(logger, 'alerts') }),
    logger: httpLogger,
    now: options.now ?? (() => new Date()),
  };

  const app = fastify({ logger: false, bodyLimit: bodyLimitBytes, return503OnClosing: true, forceCloseConnections: 'idle' });
  // JSON only: a text/plain body is answered 415 like any other media type
  app.removeContentTypeParser('text/plain');
  installHttpMetrics(app, registry);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const answer = answerFor(error, { contentType: request.headers['content-type'], bodyLimitBytes });
    const where = { method: request.method, route: request.routeOptions.url, status: answer.status };
    if (answer.category === 'internal') httpLogger.error('request failed', { ...where, error });
    else if (answer.category === 'unavailable') httpLogger.warn('database unavailable', { ...where, error });
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = (request.url.split('?')[0] ?? '').slice(0, 200);
    return reply.code(404).send({ error: `no route for ${request.method} ${path}` });
  });
  app.addHook('onResponse', async (request, reply) => {
    httpLogger.debug('request', { method: request.method, route: request.routeOptions.url, status: reply.statusCode, durationMs: Math.round(reply.elapsedTime * 10) / 10 });
  });

  registerWebhookRoute(app, context);
  registerHistoryRoutes(app, context);
  registerOpsRoutes(app, healthOf(database), registry);
  for (const [url, methods] of ROUTE_METHODS) registerMethodNotAllowed(app, url, methods);
  await app.ready();

  let closing: Promise<void> | undefined;
  return Object.freeze({
    app,
    registry,
    async listen(listenOptions: ListenOptions): Promise<string> {
      return await app.listen({ host: listenOptions.host, port: listenOptions.port });
    },
    close(): Promise<void> {
      closing ??= app.close();
      return closing;
    },
  });
}
