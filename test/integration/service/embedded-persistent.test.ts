import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { EMBEDDED_PASSWORD_FILE, startEmbeddedPostgres, type EmbeddedServer } from '../../../src/embedded/embedded-server.js';
import { failureOf } from '../../support/failure.js';
import { queryEmbedded } from '../embedded/embedded-support.js';
import { eventually } from '../dialect/dialect-support.js';


describe('embedded PostgreSQL: a persistent cluster (persistent: true, dataDir)', () => {
  let base: string;
  let server: EmbeddedServer | undefined;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'alert-history-persistent-'));
    // as root the server runs as `postgres`, which must reach the directories
    await chmod(base, 0o755);
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('initialises the directory once, keeps data and password across stop() and a new start', async () => {
    const dataDir = join(base, 'nested', 'cluster');
    server = await startEmbeddedPostgres({ persistent: true, dataDir });
    expect(server.persistent).to.equal(true);
    expect(server.dataDir).to.equal(dataDir);
    const passwordFile = join(dataDir, EMBEDDED_PASSWORD_FILE);
    expect(statSync(passwordFile).mode & 0o777).to.equal(0o600);
    expect(readFileSync(passwordFile, 'utf8').trim()).to.equal(server.password);
    const password = server.password;
    await queryEmbedded(server, "create table kept (note text); insert into kept values ('first run')");

    await server.stop();
    expect(existsSync(join(dataDir, 'PG_VERSION'))).to.equal(true);
    expect(existsSync(join(dataDir, 'postmaster.pid'))).to.equal(false);

    server = await startEmbeddedPostgres({ persistent: true, dataDir });
    expect(server.password).to.equal(password);
    expect(await queryEmbedded<{ note: string }>(server, 'select note from kept')).to.deep.equal([{ note: 'first run' }]);
    await server.halt();
    await server.resume();
    expect(await queryEmbedded<{ note: string }>(server, 'select note from kept')).to.deep.equal([{ note: 'first run' }]);
  });

  it('refuses persistent without dataDir, dataDir without persistent, a foreign directory, and a cluster without its password file', async () => {
    expect((await failureOf(startEmbeddedPostgres({ persistent: true }))).message).to.include('needs dataDir');
    expect((await failureOf(startEmbeddedPostgres({ dataDir: join(base, 'x') }))).message).to.include('only used with persistent: true');

    const foreign = join(base, 'foreign');
    await mkdir(foreign);
    await writeFile(join(foreign, 'notes.txt'), 'mine');
    expect((await failureOf(startEmbeddedPostgres({ persistent: true, dataDir: foreign }))).message).to.include('neither empty nor an initialised PostgreSQL cluster');
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).to.equal('mine');

    const orphan = join(base, 'orphan');
    server = await startEmbeddedPostgres({ persistent: true, dataDir: orphan });
    await server.stop();
    server = undefined;
    await unlink(join(orphan, EMBEDDED_PASSWORD_FILE));
    expect((await failureOf(startEmbeddedPostgres({ persistent: true, dataDir: orphan }))).message).to.include(`not its password file ${EMBEDDED_PASSWORD_FILE}`);
  });

  it('stop() returns when the server process already exited on its own (e.g. Ctrl-C reached it too)', async () => {
    server = await startEmbeddedPostgres();
    const pid = Number(readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGINT');
    const dataDir = server.dataDir;
    await eventually(async () => !existsSync(join(dataDir, 'postmaster.pid')));
    await server.stop();
    expect(existsSync(dataDir)).to.equal(false);
    server = undefined;
  });
});
