import { expect } from 'chai';
import { json, sample, setUpService, type ServiceFixture } from './service-support.js';

/** `# TYPE name type` lines of an exposition. */
function families(exposition: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) found.set(match[1] ?? '', match[2] ?? '');
  return found;
}

describe('service: /healthz, /readyz and /metrics', () => {
  let fixture: ServiceFixture;

  before(async () => {
    fixture = await setUpService('svc-ops');
  });

  after(async () => {
    await fixture?.close();
  });

  it('/healthz: 200 while the process answers, no-store', async () => {
    const response = await fixture.get('/healthz');
    expect(response.statusCode).to.equal(200);
    expect(json(response)).to.deep.equal({ status: 'alive' });
    expect(response.headers['cache-control']).to.equal('no-store');
  });

  it("/readyz: the health checker's report, 200 when healthy", async () => {
    const response = await fixture.get('/readyz');
    expect(response.statusCode).to.equal(200);
    const report = json<{ status: string; breaker: string; pool: { max: number } }>(response);
    expect(report.status).to.equal('healthy');
    expect(report.breaker).to.equal('closed');
    expect(report.pool.max).to.be.above(0);
  });

  it('/metrics: HTTP, pool and query metrics in one exposition, routes as patterns, Prometheus naming', async () => {
    expect((await fixture.postWebhook(sample('01-firing-2alerts-firing.json'))).statusCode).to.equal(200);
    expect((await fixture.get('/history/d5216addea6a4d14')).statusCode).to.equal(200);
    expect((await fixture.get('/no/such/path')).statusCode).to.equal(404);
    expect((await fixture.get('/history?limit=0')).statusCode).to.equal(400);

    const response = await fixture.get('/metrics');
    expect(response.statusCode).to.equal(200);
    expect(response.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
    const text = response.body;
    expect(text).to.match(/^http_server_request_duration_seconds_count\{method="POST",route="\/webhook",status_code="200"\} 1$/m);
    expect(text).to.match(/^http_server_request_duration_seconds_count\{method="GET",route="\/history\/:fingerprint",status_code="200"\} 1$/m);
    expect(text).to.match(/^http_server_request_duration_seconds_count\{method="GET",route="\/history",status_code="400"\} 1$/m);
    expect(text).to.match(/^http_server_request_duration_seconds_count\{method="GET",route="\(unmatched\)",status_code="404"\} 1$/m);
    expect(text).to.not.include('d5216addea6a4d14');
    expect(text).to.not.include('/no/such/path');
    // the scrape itself is in flight
    expect(text).to.match(/^http_server_active_requests 1$/m);
    expect(text).to.match(/^db_client_operation_duration_seconds_count\{pool="default",operation="insert",table="alert_events",outcome="success"\} \d+$/m);
    expect(text).to.match(/^db_client_connections_usage\{pool="default",state="idle"\} \d+$/m);

    const types = families(text);
    expect(types.get('http_server_request_duration_seconds')).to.equal('histogram');
    expect(types.get('http_server_active_requests')).to.equal('gauge');
    for (const [name, type] of types) {
      if (type === 'counter') expect(name, name).to.match(/_total$/);
      else expect(name, name).to.not.match(/_total$/);
      if (type === 'histogram') expect(name, name).to.match(/_(seconds|bytes)$/);
      expect(name, name).to.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
    }
  });

  it('405 with Allow on the GET endpoints for other methods', async () => {
    const response = await fixture.service.app.inject({ method: 'DELETE', url: '/history' });
    expect(response.statusCode).to.equal(405);
    expect(response.headers.allow).to.equal('GET, HEAD');
  });
});
