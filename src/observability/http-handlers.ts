/**
 * Framework-free `node:http` handlers for metrics, readiness and liveness endpoints. Each handler
 * answers `GET` and `HEAD` (405 otherwise), and its promise never rejects: an internal failure
 * becomes a 500 answer (or a destroyed response when the headers were already sent), so a handler
 * can be passed straight to `http.createServer()` without an unhandled rejection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthChecker } from './health-checker.js';
import type { HealthStatus } from './health-types.js';

/** A request handler for `node:http` (`http.createServer(handler)` or a router's callback). */
export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

/** What {@link metricsHandler} serves: a prom-client `Registry` satisfies it. */
export interface MetricsSource {
  /** The exposition text of every metric, served as the response body. */
  metrics(): Promise<string>;
  /** The `Content-Type` of that text (Prometheus text format or OpenMetrics). */
  readonly contentType: string;
}

/** Options of {@link healthHandler}. */
export interface HealthHandlerOptions {
  /**
   * Run a check for every request (concurrent requests share one) instead of serving the latest
   * report. Default `false`: the latest report, with a check only when there is none yet.
   */
  readonly fresh?: boolean;
}

/** The HTTP status of each health status: `degraded` still serves traffic. */
export const HEALTH_HTTP_STATUS: Readonly<Record<HealthStatus, number>> = Object.freeze({
  healthy: 200,
  degraded: 200,
  unhealthy: 503,
});

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

function send(
  request: IncomingMessage,
  response: ServerResponse,
  statusCode: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): void {
  const bytes = Buffer.from(body, 'utf8');
  response.writeHead(statusCode, { ...headers, 'Content-Length': String(bytes.length) });
  // HEAD: the same headers (Content-Length included), no body
  response.end(request.method === 'HEAD' ? undefined : bytes);
}

/** Answers 405 and returns false unless the method is GET or HEAD. */
function readOnlyMethod(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return true;
  send(request, response, 405, { 'Content-Type': TEXT, Allow: 'GET, HEAD', 'Cache-Control': 'no-store' }, 'method not allowed\n');
  return false;
}

/** Runs `handle`; whatever it throws becomes a 500 (or a destroyed response), never a rejection. */
function safely(handle: HttpHandler, failureBody: string): HttpHandler {
  return async (request, response) => {
    try {
      await handle(request, response);
    } catch {
      try {
        if (response.headersSent) response.destroy();
        else send(request, response, 500, { 'Content-Type': TEXT, 'Cache-Control': 'no-store' }, failureBody);
      } catch {
        response.destroy();
      }
    }
  };
}

/**
 * Serves `registry.metrics()` (Prometheus text format) with `registry.contentType`, status 200.
 * 405 for methods other than GET and HEAD; 500 with a short text body when `metrics()` fails (the
 * error itself is not exposed).
 */
export function metricsHandler(registry: MetricsSource): HttpHandler {
  if (!registry || typeof registry.metrics !== 'function') {
    throw new TypeError('metricsHandler needs a registry with metrics() and contentType (e.g. a prom-client Registry)');
  }
  return safely(async (request, response) => {
    if (!readOnlyMethod(request, response)) return;
    const body = await registry.metrics();
    send(request, response, 200, { 'Content-Type': registry.contentType }, body);
  }, 'metrics unavailable\n');
}

/**
 * Serves a `HealthReport` as JSON: 200 for `healthy` and `degraded`, 503 for `unhealthy`,
 * `Cache-Control: no-store`. By default the checker's latest report (a check runs only when there
 * is none yet); with `fresh: true`, the report of a check run for the request. 405 for methods
 * other than GET and HEAD.
 */
export function healthHandler(checker: HealthChecker, options: HealthHandlerOptions = {}): HttpHandler {
  if (!checker || typeof checker.check !== 'function' || typeof checker.report !== 'function') {
    throw new TypeError('healthHandler needs a HealthChecker (from createHealthChecker)');
  }
  const fresh = options.fresh === true;
  return safely(async (request, response) => {
    if (!readOnlyMethod(request, response)) return;
    let report = fresh ? await checker.check() : checker.report();
    if (report.checkedAt === null) report = await checker.check();
    send(
      request,
      response,
      HEALTH_HTTP_STATUS[report.status] ?? 503,
      { 'Content-Type': JSON_TYPE, 'Cache-Control': 'no-store' },
      JSON.stringify(report),
    );
  }, 'health report unavailable\n');
}

/**
 * Liveness: 200 `{"status":"alive"}` while the process can answer HTTP. It never touches the
 * database, so a database outage does not get the process restarted. 405 for methods other than
 * GET and HEAD.
 */
export function livenessHandler(): HttpHandler {
  const body = JSON.stringify({ status: 'alive' });
  return safely(async (request, response) => {
    if (!readOnlyMethod(request, response)) return;
    send(request, response, 200, { 'Content-Type': JSON_TYPE, 'Cache-Control': 'no-store' }, body);
  }, 'liveness unavailable\n');
}
