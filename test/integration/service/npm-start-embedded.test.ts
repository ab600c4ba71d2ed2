import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { sample } from './service-support.js';
import { cleanEnv, http, postWebhook, startServiceProcess, stopServiceProcess, type ServiceProcess } from './service-process.js';

/** Stops a PostgreSQL that a failed test may have left running in `clusterDir` (its postmaster.pid names it). */
function killLeftoverServer(clusterDir: string): void {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    if (pid > 0) process.kill(pid, 'SIGINT');
  } catch {
    // already gone
  }
}

describe('npm start without a configured database: embedded PostgreSQL with its data in DATA_DIR', () => {
  let dataDir: string;
  let service: ServiceProcess | undefined;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'alert-history-service-data-'));
    // as root the embedded server runs as `postgres`, which must reach the directory
    await chmod(dataDir, 0o755);
  });

  afterEach(async () => {
    await stopServiceProcess(service);
    service = undefined;
  });

  after(async () => {
    if (dataDir === undefined) return;
    killLeftoverServer(join(dataDir, 'postgres'));
    await rm(dataDir, { recursive: true, force: true });
  });

  const env = (): NodeJS.ProcessEnv => cleanEnv({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' });

  it('starts, migrates, stores a webhook, stops with status 0; started again, the data is still there', async () => {
    service = startServiceProcess(env());
    const url = await service.url;
    const first = service.stdout();
    expect(first).to.include(`No database configured (DATABASE_URL, PG* or DB_* variables): starting embedded PostgreSQL with its data in ${dataDir}`);
    expect(first).to.include('Migrations: applied 3, now at version 3');
    expect(first).to.match(/Database: postgres:\/\/postgres@127\.0\.0\.1:\d+\/alert_history \(embedded PostgreSQL /);
    expect(first).to.include('To use your own PostgreSQL instead: DATABASE_URL=postgres://user:password@host:5432/dbname npm start');

    const passwordFile = join(dataDir, 'postgres', 'embedded-password');
    expect(statSync(passwordFile).mode & 0o777).to.equal(0o600);
    const password = readFileSync(passwordFile, 'utf8').trim();
    expect(password.length).to.be.at.least(16);
    expect(first).to.not.include(password);

    const stored = await postWebhook(url, sample('01-firing-2alerts-firing.json'));
    expect(stored.status, stored.body).to.equal(200);
    expect((await http(`${url}/readyz`)).status).to.equal(200);

    service.child.kill('SIGTERM');
    expect(await service.exited, service.stderr()).to.deep.equal({ code: 0, signal: null });
    // PostgreSQL removes its pid file once it has shut down
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).to.equal(false);
    expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).to.equal(true);

    service = startServiceProcess(env());
    const again = await service.url;
    expect(service.stdout()).to.include('Migrations: up to date (version 3)');
    const history = await http(`${again}/history`);
    expect(history.status).to.equal(200);
    const items = (JSON.parse(history.body) as { items: { fingerprint: string }[] }).items;
    expect(items.map((event) => event.fingerprint)).to.have.members(['d5216addea6a4d14', 'f1374234d2285e8e']);
    expect(readFileSync(passwordFile, 'utf8').trim()).to.equal(password);

    service.child.kill('SIGTERM');
    expect(await service.exited).to.deep.equal({ code: 0, signal: null });
  });

  it('MIGRATE_ON_START=false skips the migrations; a bad setting fails the start with status 1', async () => {
    service = startServiceProcess({ ...env(), MIGRATE_ON_START: 'false' });
    await service.url;
    expect(service.stdout()).to.not.include('Migrations:');
    service.child.kill('SIGTERM');
    expect(await service.exited).to.deep.equal({ code: 0, signal: null });

    service = startServiceProcess({ ...env(), PORT: 'eighty', MIGRATE_ON_START: 'maybe' });
    expect(await service.exited).to.deep.equal({ code: 1, signal: null });
    expect(service.stderr()).to.include('PORT: must be an integer from 0 to 65535');
    expect(service.stderr()).to.include('MIGRATE_ON_START: must be true or false');
  });
});
