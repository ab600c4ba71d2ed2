import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { loadConfig } from '../../../src/config/load-config.js';
import { createHealthChecker, type HealthChecker } from '../../../src/observability/health-checker.js';
import type { HealthReport, HealthStatus } from '../../../src/observability/health-types.js';
import { healthHandler, livenessHandler, metricsHandler, type HttpHandler } from '../../../src/observability/http-handlers.js';
import { createPool } from '../../../src/pool/create-pool.js';
import type { InstrumentedPool } from '../../../src/pool/instrumented-pool.js';
import type { CircuitBreaker } from '../../../src/resilience/circuit-breaker.js';
import { poolConfig } from '../../support/pool-config.js';
import { poolSuite } from '../pool/pool-test-kit.js';

/** A TCP port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An HTTP server on an ephemeral port routing paths to handlers (404 elsewhere). */
async function serve(routes: Record<string, HttpHandler>): Promise<{ server: Server; url: (path: string) => string }> {
  const server = createServer((request, response) => {
    const handler = routes[new URL(request.url ?? '/', 'http://localhost').pathname];
    if (handler === undefined) {
      response.writeHead(404).end();
      return;
    }
    void handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: (path) => `http://127.0.0.1:${port}${path}` };
}

describe('http handlers', () => {
  const suite = poolSuite('http handlers');
  let unreachable: InstrumentedPool;
  let servers: Server[] = [];
  const checkers: HealthChecker[] = [];
  let checks: { pool: string; status: HealthStatus }[] = [];

  function checker(pool: InstrumentedPool, options: { breaker?: CircuitBreaker; failureThreshold?: number } = {}): HealthChecker {
    const created = createHealthChecker({
      pool,
      timeoutMs: 3000,
      ...options,
      metrics: { checked: () => undefined, status: (status) => void checks.push({ pool: pool.name, status }) },
    });
    checkers.push(created);
    return created;
  }

  async function routes(table: Record<string, HttpHandler>): Promise<(path: string) => string> {
    const { server, url } = await serve(table);
    servers.push(server);
    return url;
  }

  before(async () => {
    const port = await closedPort();
    unreachable = createPool(
      loadConfig(
        {},
        { host: '127.0.0.1', port, user: 'postgres', database: 'nowhere', sslMode: 'disable', connectTimeout: 2000, acquireTimeout: 3000 },
        { onWarning: () => undefined },
      ),
      { name: 'unreachable' },
    );
  });

  afterEach(async () => {
    await Promise.all(checkers.splice(0).map((c) => c.stop()));
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    servers = [];
    checks = [];
  });

  after(async () => {
    await unreachable?.close();
  });

  it('serves a healthy report as JSON with 200, no-store, and checks only when there is no report yet', async () => {
    const pool = createPool(poolConfig(suite.db), { name: 'reachable' });
    suite.pools.push(pool);
    const url = await routes({ '/readyz': healthHandler(checker(pool)) });
    const response = await fetch(url('/readyz'));
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    expect(response.headers.get('cache-control')).to.equal('no-store');
    const body = (await response.json()) as HealthReport;
    expect(body.status).to.equal('healthy');
    expect(body.reasons).to.deep.equal([]);
    expect(body.checkedAt).to.be.a('string');
    expect(body.latency.queryMs).to.be.a('number');
    expect(body.pool.max).to.equal(pool.config.maxConns);
    expect(checks).to.have.length(1);
    // the latest report is served without checking again
    const again = (await (await fetch(url('/readyz'))).json()) as HealthReport;
    expect(again.checkedAt).to.equal(body.checkedAt);
    expect(checks).to.have.length(1);
  });

  it('runs a check for every request with fresh: true', async () => {
    const pool = createPool(poolConfig(suite.db));
    suite.pools.push(pool);
    const url = await routes({ '/readyz': healthHandler(checker(pool), { fresh: true }) });
    for (let i = 0; i < 3; i += 1) expect((await fetch(url('/readyz'))).status).to.equal(200);
    expect(checks).to.have.length(3);
  });

  it('answers 200 for degraded and 503 for unhealthy', async () => {
    const pool = createPool(poolConfig(suite.db));
    suite.pools.push(pool);
    const breaker = { name: 'fake', state: 'half-open', retryAfterMs: () => 0, onStateChange: () => () => undefined, execute: (work) => work() } satisfies CircuitBreaker;
    const url = await routes({
      '/degraded': healthHandler(checker(pool, { breaker })),
      '/unhealthy': healthHandler(checker(unreachable, { failureThreshold: 1 })),
    });
    const degraded = await fetch(url('/degraded'));
    expect(degraded.status).to.equal(200);
    expect(((await degraded.json()) as HealthReport).status).to.equal('degraded');

    const unhealthy = await fetch(url('/unhealthy'));
    expect(unhealthy.status).to.equal(503);
    expect(unhealthy.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    const body = (await unhealthy.json()) as HealthReport;
    expect(body.status).to.equal('unhealthy');
    expect(body.consecutiveFailures).to.equal(1);
    expect(body.lastError?.message).to.include('ECONNREFUSED');
    expect(body.reasons[0]).to.match(/^1 consecutive check failed \(last: .*ECONNREFUSED/);
  });

  it('answers HEAD with the status and headers but no body, and 405 to other methods', async () => {
    const pool = createPool(poolConfig(suite.db));
    suite.pools.push(pool);
    const registry = new Registry();
    const url = await routes({
      '/readyz': healthHandler(checker(pool)),
      '/unhealthy': healthHandler(checker(unreachable, { failureThreshold: 1 })),
      '/livez': livenessHandler(),
      '/metrics': metricsHandler(registry),
    });
    for (const [path, status] of [['/readyz', 200], ['/unhealthy', 503], ['/livez', 200], ['/metrics', 200]] as const) {
      const head = await fetch(url(path), { method: 'HEAD' });
      expect(head.status, path).to.equal(status);
      expect(head.headers.get('content-type'), path).to.be.a('string');
      expect(await head.text(), path).to.equal('');
    }
    for (const path of ['/readyz', '/livez', '/metrics']) {
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const refused = await fetch(url(path), { method });
        expect(refused.status, `${method} ${path}`).to.equal(405);
        expect(refused.headers.get('allow')).to.equal('GET, HEAD');
        expect(await refused.text()).to.equal('method not allowed\n');
      }
    }
  });

  it('answers liveness without touching the database, even when it is unreachable', async () => {
    const before = unreachable.stats();
    const url = await routes({ '/livez': livenessHandler(), '/readyz': healthHandler(checker(unreachable, { failureThreshold: 1 })) });
    const alive = await fetch(url('/livez'));
    expect(alive.status).to.equal(200);
    expect(alive.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    expect(alive.headers.get('cache-control')).to.equal('no-store');
    expect(await alive.json()).to.deep.equal({ status: 'alive' });
    const after = unreachable.stats();
    expect(after.acquireCount + after.acquireErrorCount).to.equal(before.acquireCount + before.acquireErrorCount);
    expect(after.connectErrorCount).to.equal(before.connectErrorCount);
    // the same process is not ready
    expect((await fetch(url('/readyz'))).status).to.equal(503);
    expect((await fetch(url('/livez'))).status).to.equal(200);
  });

  it('serves a prom-client registry with its content type', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'health_test_requests_total', help: 'Requests seen by the test.', registers: [registry] });
    counter.inc(3);
    const url = await routes({ '/metrics': metricsHandler(registry) });
    const response = await fetch(url('/metrics'));
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.equal(registry.contentType);
    expect(response.headers.get('content-type')).to.equal('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(text).to.include('# HELP health_test_requests_total Requests seen by the test.');
    expect(text).to.include('# TYPE health_test_requests_total counter');
    expect(text).to.match(/^health_test_requests_total 3$/m);
  });

  it('answers 500 with a short text body when the metrics or the report fail, and keeps serving', async () => {
    let fail = true;
    const registry = {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      metrics: async (): Promise<string> => {
        if (fail) throw new Error('collector exploded: secret detail');
        return 'up 1\n';
      },
    };
    const brokenChecker: HealthChecker = {
      check: () => Promise.reject(new Error('broken')),
      report: () => {
        throw new Error('broken');
      },
      start: () => undefined,
      stop: async () => undefined,
      running: false,
    };
    const url = await routes({ '/metrics': metricsHandler(registry), '/readyz': healthHandler(brokenChecker) });
    const failed = await fetch(url('/metrics'));
    expect(failed.status).to.equal(500);
    expect(failed.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
    expect(await failed.text()).to.equal('metrics unavailable\n');
    const report = await fetch(url('/readyz'));
    expect(report.status).to.equal(500);
    expect(await report.text()).to.equal('health report unavailable\n');
    fail = false;
    const ok = await fetch(url('/metrics'));
    expect(ok.status).to.equal(200);
    expect(await ok.text()).to.equal('up 1\n');
  });

  it('rejects a handler built without its dependency', () => {
    expect(() => metricsHandler(undefined as never)).to.throw(TypeError, /registry/);
    expect(() => healthHandler({} as never)).to.throw(TypeError, /HealthChecker/);
  });
});
