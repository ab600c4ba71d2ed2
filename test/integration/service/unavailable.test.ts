import { expect } from 'chai';
import type { LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../../src/config/load-config.js';
import { createDatabase, type Database } from '../../../src/database/create-database.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../../src/embedded/embedded-server.js';
import { migrate } from '../../../src/migrate/migrate.js';
import type { DB } from '../../../src/schema/database.js';
import { createService, type AlertHistoryService } from '../../../src/service/create-service.js';
import { eventually } from '../dialect/dialect-support.js';
import { json, MIGRATIONS, sample, tableCounts } from './service-support.js';

/** Milliseconds between Alertmanager-style retries in this test (Alertmanager backs off on its own; Retry-After is advisory). */
const RETRY_PAUSE_MS = 250;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The Retry-After of a 503, in seconds (a positive integer). */
function retryAfter(response: LightMyRequestResponse): number {
  const header = String(response.headers['retry-after']);
  expect(header).to.match(/^[1-9]\d*$/);
  return Number(header);
}

describe('service: 503 with Retry-After while the database is down, then Alertmanager-style retries succeed', () => {
  let server: EmbeddedServer;
  let database: Database<DB>;
  let service: AlertHistoryService;

  before(async () => {
    server = await startEmbeddedPostgres();
    await server.createDatabase('alerts');
    const url = server.connectionString('alerts');
    await migrate(url, { dir: MIGRATIONS, env: {} });
    const config = loadConfig({}, { connectionString: url, sslMode: 'disable', connectTimeout: '2s', acquireTimeout: '3s' }, { onWarning: () => undefined });
    database = createDatabase<DB>(config, {
      env: {},
      breaker: { threshold: 2, halfOpenAfterMs: 10_000 },
      health: { periodMs: 100, failureThreshold: 1, timeoutMs: 1000 },
    });
    service = await createService({ database });
  });

  after(async () => {
    await service?.close();
    await database?.close();
    await server?.stop();
  });

  const post = (file: Parameters<typeof sample>[0]): Promise<LightMyRequestResponse> =>
    service.app.inject({ method: 'POST', url: '/webhook', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(sample(file)) });

  it('answers 503 + Retry-After (the breaker’s own when open), /readyz 503 and /healthz 200, then stores the retried webhook once the server is back', async () => {
    expect((await post('01-firing-2alerts-firing.json')).statusCode).to.equal(200);
    await eventually(async () => (await service.app.inject('/readyz')).statusCode === 200);

    await server.halt();
    const refused = await post('02-firing-1alerts-firing.json');
    expect(refused.statusCode, refused.body).to.equal(503);
    expect(json(refused).error).to.equal('the database is unavailable; try again later');
    retryAfter(refused);

    // more failures open the breaker: work is refused at once, Retry-After from its retryAfterMs
    await eventually(async () => {
      const response = await post('02-firing-1alerts-firing.json');
      expect(response.statusCode).to.equal(503);
      return database.breaker?.state === 'open';
    });
    const fastFail = await post('02-firing-1alerts-firing.json');
    expect(fastFail.statusCode).to.equal(503);
    // the breaker's 10 s, not the default 5 s
    expect(retryAfter(fastFail)).to.be.within(6, 10);
    const history = await service.app.inject('/history');
    expect(history.statusCode).to.equal(503);

    await eventually(async () => (await service.app.inject('/readyz')).statusCode === 503);
    expect((await service.app.inject('/healthz')).statusCode).to.equal(200);

    await server.resume();
    // Alertmanager retries a notification until a 2xx (or it gives up)
    let answer: LightMyRequestResponse | undefined;
    for (let attempt = 1; attempt <= 100; attempt += 1) {
      answer = await post('02-firing-1alerts-firing.json');
      if (answer.statusCode !== 503) break;
      await pause(Math.min(retryAfter(answer) * 1000, RETRY_PAUSE_MS));
    }
    expect(answer?.statusCode, answer?.body).to.equal(200);
    expect(json(answer as LightMyRequestResponse)).to.include({ newEvents: 1, duplicates: 0 });
    expect(await tableCounts(database.db)).to.deep.equal({ events: 3, alerts: 3 });
    await eventually(async () => (await service.app.inject('/readyz')).statusCode === 200);
  });
});
