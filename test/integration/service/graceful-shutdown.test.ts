import { expect } from 'chai';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import { adminQuery, eventually } from '../dialect/dialect-support.js';
import { sample } from './service-support.js';
import { cleanEnv, http, postWebhook, startServiceProcess, stopServiceProcess, type HttpAnswer, type ServiceProcess } from './service-process.js';

/** Sessions of the service waiting for a lock in `db`. */
async function waitingOnLocks(db: TestDatabase): Promise<number> {
  const rows = await adminQuery<{ n: string }>(db, "select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
  return Number(rows[0]?.n);
}

/** Whether a new request is no longer served: the connection is refused, or answered 503. */
async function refusesNewRequests(url: string): Promise<boolean> {
  try {
    return (await http(`${url}/healthz`)).status === 503;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  }
}

describe('service process: graceful shutdown on SIGTERM (npm start against DATABASE_URL)', () => {
  let db: TestDatabase;
  let service: ServiceProcess | undefined;
  let locker: pg.Client | undefined;

  before(async () => {
    db = await createTestDatabase('svc-shutdown');
  });

  afterEach(async () => {
    await locker?.query('rollback').catch(() => undefined);
    await locker?.end().catch(() => undefined);
    locker = undefined;
    await stopServiceProcess(service);
    service = undefined;
  });

  after(async () => {
    await db?.drop();
  });

  /** Starts the service on the test database and holds an exclusive lock on alert_events, so that requests touching it wait. */
  async function startAndLock(): Promise<string> {
    service = startServiceProcess(cleanEnv({ DATABASE_URL: db.url, PGSSLMODE: 'disable', PORT: '0', LOG_LEVEL: 'warn' }));
    const url = await service.url;
    locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table alert_events in access exclusive mode');
    return url;
  }

  it('stops accepting, finishes the requests in flight, closes the pool and exits with status 0', async () => {
    const url = await startAndLock();
    expect(service?.stdout()).to.include(`Database: postgres://${db.user}@${db.host}:${db.port}/${db.database}`);
    if (db.password) expect(service?.stdout()).to.not.include(db.password);

    const inFlight: [Promise<HttpAnswer>, Promise<HttpAnswer>] = [postWebhook(url, sample('01-firing-2alerts-firing.json')), http(`${url}/history`)];
    await eventually(async () => (await waitingOnLocks(db)) === 2);

    service?.child.kill('SIGTERM');
    await eventually(() => refusesNewRequests(url));
    expect(service?.running()).to.equal(true);

    await locker?.query('commit');
    const [stored, history] = await Promise.all(inFlight);
    expect(stored.status, stored.body).to.equal(200);
    expect(JSON.parse(stored.body)).to.include({ newEvents: 2 });
    expect(history.status).to.equal(200);

    const exit = await service?.exited;
    expect(exit, service?.stderr()).to.deep.equal({ code: 0, signal: null });
    expect(service?.stdout()).to.include('SIGTERM: shutting down');
    expect(service?.stdout()).to.include('Stopped.');
    const rows = await adminQuery<{ n: string }>(db, 'select count(*) as n from alert_events');
    expect(Number(rows[0]?.n)).to.equal(2);
    // the pool is closed: no session of the service is left
    const sessions = await adminQuery<{ n: string }>(db, 'select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    expect(Number(sessions[0]?.n)).to.equal(1);
  });

  it('takes a repeat of the same signal at once (npm and tsx each relay SIGTERM) as the same request: still graceful', async () => {
    const url = await startAndLock();
    const inFlight = postWebhook(url, sample('02-firing-1alerts-firing.json'));
    await eventually(async () => (await waitingOnLocks(db)) === 1);
    service?.child.kill('SIGTERM');
    service?.child.kill('SIGTERM');
    await eventually(() => refusesNewRequests(url));
    expect(service?.running()).to.equal(true);
    await locker?.query('commit');
    const stored = await inFlight;
    expect(stored.status, stored.body).to.equal(200);
    const exit = await service?.exited;
    expect(exit, service?.stderr()).to.deep.equal({ code: 0, signal: null });
    expect(service?.stdout()).to.not.include('again: exiting now');
    expect(service?.stdout()).to.include('Stopped.');
  });

  it('exits at once on a second signal, with 128 + its number', async () => {
    const url = await startAndLock();
    const stuck = postWebhook(url, sample('02-firing-1alerts-firing.json')).catch((error: unknown) => error);
    await eventually(async () => (await waitingOnLocks(db)) === 1);
    service?.child.kill('SIGTERM');
    await eventually(async () => service?.stdout().includes('SIGTERM: shutting down') ?? false);
    service?.child.kill('SIGINT');
    const exit = await service?.exited;
    expect(exit).to.deep.equal({ code: 130, signal: null });
    expect(service?.stdout()).to.include('SIGINT again: exiting now');
    expect(await stuck).to.be.instanceOf(Error);
  });
});
