/**
 * sslmode with libpq's meaning, against real PostgreSQL servers of this suite's own: one that
 * accepts TLS connections only (certificate for `localhost` only, issued by a test CA), and one
 * without TLS. Connections are made with pg.Client and `tlsPlan(config)` as `ssl`.
 */
import { expect } from 'chai';
import { lookup } from 'node:dns/promises';
import { chmod, chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ConfigError, fallbackFor, isTlsRefusal, loadConfig, tlsPlan, type PostgresConfig, type TlsChoice } from '../../../src/config/index.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../../src/embedded/embedded-server.js';
import { createCertificateAuthority, type KeyPair } from '../../support/certificates.js';

const CERT_USER = 'cert_user';
/**
 * Node.js's codes for "the chain does not lead to a trusted root": which one depends on whether
 * the server sends its CA along with its certificate (OpenSSL adds it when ssl_ca_file holds it).
 */
const UNTRUSTED_CHAIN = ['SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'];

/** pg_hba.conf of the TLS-only server: plaintext is rejected, TLS needs a password (or a certificate for cert_user). */
const TLS_ONLY_HBA = [
  '# TYPE    DATABASE USER      ADDRESS       METHOD',
  'hostnossl all      all       all           reject',
  `hostssl   all      ${CERT_USER} 127.0.0.1/32 cert`,
  'hostssl   all      all       127.0.0.1/32  scram-sha-256',
  '',
].join('\n');

interface Files {
  readonly dir: string;
  readonly rootCert: string;
  readonly otherRootCert: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

async function writeServerFiles(dataDir: string, ca: KeyPair, server: KeyPair): Promise<void> {
  // The server runs as the owner of its data directory (`postgres` when we are root) and
  // refuses a key that others can read.
  const { uid, gid } = await stat(dataDir);
  const files: [string, string][] = [
    ['server.crt', server.certPem],
    ['server.key', server.keyPem],
    ['root.crt', ca.certPem],
    ['pg_hba.conf', TLS_ONLY_HBA],
  ];
  for (const [name, content] of files) {
    const path = join(dataDir, name);
    await writeFile(path, content, { mode: 0o600 });
    await chmod(path, 0o600);
    if (process.getuid?.() === 0) await chown(path, uid, gid);
  }
}

async function writeClientFiles(ca: KeyPair, otherCa: KeyPair, client: KeyPair): Promise<Files> {
  const dir = await mkdtemp(join(tmpdir(), 'alert-history-db-tls-'));
  const files = {
    dir,
    rootCert: join(dir, 'root.crt'),
    otherRootCert: join(dir, 'other-root.crt'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
  await writeFile(files.rootCert, ca.certPem, { mode: 0o600 });
  await writeFile(files.otherRootCert, otherCa.certPem, { mode: 0o600 });
  await writeFile(files.clientCert, client.certPem, { mode: 0o600 });
  await writeFile(files.clientKey, client.keyPem, { mode: 0o600 });
  return files;
}

/** Opens a pg.Client with `ssl`, runs `work`, and always closes it. */
async function withClient<T>(config: PostgresConfig, ssl: TlsChoice, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    ssl,
    connectionTimeoutMillis: config.connectTimeoutMs,
  });
  client.on('error', () => undefined);
  // A failed connect() leaves nothing to close (pg ends the socket itself).
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Whether this session is encrypted, as the server sees it. */
async function sessionUsesTls(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
  expect(rows).to.have.length(1);
  return rows[0]?.ssl === true;
}

async function connectionError(config: PostgresConfig, ssl: TlsChoice): Promise<Error & { code?: string }> {
  try {
    await withClient(config, ssl, async () => undefined);
  } catch (error) {
    expect(error).to.be.instanceOf(Error);
    return error as Error & { code?: string };
  }
  expect.fail('the connection was expected to fail');
}

describe('TLS with libpq sslmode semantics (real PostgreSQL)', function () {
  let tlsServer: EmbeddedServer;
  let plainServer: EmbeddedServer;
  let files: Files;

  /** Configuration for the TLS-only server, through loadConfig's environment variables. */
  const tlsConfig = (env: Record<string, string>): PostgresConfig =>
    loadConfig({
      PGHOST: 'localhost',
      PGPORT: String(tlsServer.port),
      PGUSER: tlsServer.user,
      PGPASSWORD: tlsServer.password,
      PGDATABASE: 'postgres',
      HOME: files.dir,
      ...env,
    });

  before(async function () {
    // Two initdb runs and server starts: allow for a busy machine.
    this.timeout(180_000);
    const localhost = await lookup('localhost', { all: true });
    expect(
      localhost.map((address) => address.address),
      'these tests connect to "localhost" and the servers listen on 127.0.0.1 only',
    ).to.include('127.0.0.1');
    const ca = createCertificateAuthority('alert-history-db test CA');
    const otherCa = createCertificateAuthority('unrelated test CA');
    const serverPair = ca.issue({ commonName: 'localhost', dnsNames: ['localhost'], purpose: 'server' });
    const clientPair = ca.issue({ commonName: CERT_USER, purpose: 'client' });
    files = await writeClientFiles(ca, otherCa, clientPair);
    [tlsServer, plainServer] = await Promise.all([
      startEmbeddedPostgres({
        postgresFlags: ['-c', 'ssl=on', '-c', 'ssl_cert_file=server.crt', '-c', 'ssl_key_file=server.key', '-c', 'ssl_ca_file=root.crt'],
        beforeStart: (dataDir) => writeServerFiles(dataDir, ca, serverPair),
      }),
      startEmbeddedPostgres(),
    ]);
    const admin = tlsConfig({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: files.rootCert });
    await withClient(admin, tlsPlan(admin).first, (client) => client.query(`create role ${CERT_USER} login`));
  });

  after(async function () {
    await Promise.all([tlsServer?.stop(), plainServer?.stop()]);
    if (files) await rm(files.dir, { recursive: true, force: true });
  });

  describe('verify-full', () => {
    it('connects over TLS when the chain leads to the root certificate and the host name matches', async () => {
      const config = tlsConfig({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: files.rootCert });
      expect(await withClient(config, tlsPlan(config).first, sessionUsesTls)).to.equal(true);
    });

    it('refuses a host the certificate does not name (127.0.0.1; the certificate names only localhost)', async () => {
      const config = tlsConfig({ PGHOST: '127.0.0.1', PGSSLMODE: 'verify-full', PGSSLROOTCERT: files.rootCert });
      const error = await connectionError(config, tlsPlan(config).first);
      expect(error.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(error.message).to.contain("Hostname/IP does not match certificate's altnames").and.to.contain('127.0.0.1');
    });

    it('refuses a server whose certificate another CA issued', async () => {
      const config = tlsConfig({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: files.otherRootCert });
      const error = await connectionError(config, tlsPlan(config).first);
      expect(error.code).to.be.oneOf(UNTRUSTED_CHAIN);
      expect(isTlsRefusal(error, 'tls')).to.equal(false);
    });

    it('authenticates with a client certificate and key read from files (pg_hba "cert", no password)', async () => {
      const config = tlsConfig({
        PGUSER: CERT_USER,
        PGPASSWORD: '',
        PGSSLMODE: 'verify-full',
        PGSSLROOTCERT: files.rootCert,
        PGSSLCERT: files.clientCert,
        PGSSLKEY: files.clientKey,
      });
      expect(config.password).to.equal(undefined);
      const row = await withClient(config, tlsPlan(config).first, async (client) => {
        const { rows } = await client.query<{ ssl: boolean; who: string; client_dn: string }>(
          'select ssl, current_user as who, client_dn from pg_stat_ssl where pid = pg_backend_pid()',
        );
        return rows[0];
      });
      expect(row).to.deep.equal({ ssl: true, who: CERT_USER, client_dn: `/CN=${CERT_USER}` });
    });
  });

  describe('verify-ca', () => {
    it('connects to an IP address the certificate does not name: the chain is verified, the host name is not', async () => {
      const config = tlsConfig({ PGHOST: '127.0.0.1', PGSSLMODE: 'verify-ca', PGSSLROOTCERT: files.rootCert });
      expect(await withClient(config, tlsPlan(config).first, sessionUsesTls)).to.equal(true);
    });

    it('refuses a server whose certificate another CA issued', async () => {
      const config = tlsConfig({ PGHOST: '127.0.0.1', PGSSLMODE: 'verify-ca', PGSSLROOTCERT: files.otherRootCert });
      expect((await connectionError(config, tlsPlan(config).first)).code).to.be.oneOf(UNTRUSTED_CHAIN);
    });
  });

  describe('require', () => {
    it('connects over TLS without any root certificate (no verification, as libpq)', async () => {
      const config = tlsConfig({ PGHOST: '127.0.0.1', PGSSLMODE: 'require' });
      expect(config.sslRootCert).to.equal(undefined);
      expect(await withClient(config, tlsPlan(config).first, sessionUsesTls)).to.equal(true);
    });

    it('verifies the chain like verify-ca when a root certificate is given (libpq), so an unrelated CA fails', async () => {
      const config = tlsConfig({ PGHOST: '127.0.0.1', PGSSLMODE: 'require', PGSSLROOTCERT: files.otherRootCert });
      expect((await connectionError(config, tlsPlan(config).first)).code).to.be.oneOf(UNTRUSTED_CHAIN);
    });

    it('fails clearly against a server without TLS, with no plaintext fallback', async () => {
      const config = loadConfig({ DATABASE_URL: plainServer.connectionString(), PGSSLMODE: 'require', HOME: files.dir });
      const plan = tlsPlan(config);
      const error = await connectionError(config, plan.first);
      expect(error.message).to.equal('The server does not support SSL connections');
      expect(isTlsRefusal(error, 'tls')).to.equal(true);
      expect(fallbackFor(plan, error)).to.equal(undefined);
    });
  });

  describe('disable, allow, prefer', () => {
    it('disable: the TLS-only server refuses the plaintext connection with a clear pg_hba.conf error', async () => {
      const config = tlsConfig({ PGSSLMODE: 'disable' });
      const plan = tlsPlan(config);
      expect(plan.first).to.equal(false);
      const error = await connectionError(config, plan.first);
      expect(error.code).to.equal('28000');
      expect(error.message).to.match(/^pg_hba\.conf rejects connection for host "127\.0\.0\.1".*, no encryption$/);
      expect(isTlsRefusal(error, 'plaintext')).to.equal(true);
      expect(fallbackFor(plan, error)).to.equal(undefined);
    });

    it('allow: plaintext first, refused, then the TLS fallback connects', async () => {
      const config = tlsConfig({ PGSSLMODE: 'allow' });
      const plan = tlsPlan(config);
      const error = await connectionError(config, plan.first);
      const retry = fallbackFor(plan, error);
      expect(retry).to.be.an('object');
      expect(await withClient(config, retry ?? false, sessionUsesTls)).to.equal(true);
    });

    it('prefer: TLS first, accepted by the TLS server', async () => {
      const config = tlsConfig({ PGSSLMODE: 'prefer' });
      expect(await withClient(config, tlsPlan(config).first, sessionUsesTls)).to.equal(true);
    });

    it('prefer: against a server without TLS, the refusal leads to the plaintext fallback', async () => {
      const config = loadConfig({ DATABASE_URL: `${plainServer.connectionString()}?sslmode=prefer`, HOME: files.dir });
      const plan = tlsPlan(config);
      const error = await connectionError(config, plan.first);
      const retry = fallbackFor(plan, error);
      expect(retry).to.equal(false);
      expect(await withClient(config, retry ?? false, sessionUsesTls)).to.equal(false);
    });
  });

  it('tlsPlan refuses a root certificate file removed after loadConfig, with a ConfigError', async () => {
    const path = join(files.dir, 'vanishing.crt');
    await writeFile(path, 'not used', { mode: 0o600 });
    const config = tlsConfig({ PGSSLMODE: 'verify-full', PGSSLROOTCERT: path });
    await rm(path);
    expect(() => tlsPlan(config))
      .to.throw(ConfigError)
      .with.property('problems')
      .that.deep.equals([{ field: 'sslRootCert', message: `file ${JSON.stringify(path)} does not exist` }]);
  });
});
