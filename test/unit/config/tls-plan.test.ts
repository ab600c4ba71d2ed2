import { expect } from 'chai';
import { inspect } from 'node:util';
import pg from 'pg';
import {
  attemptOf,
  ConfigError,
  fallbackFor,
  isTlsRefusal,
  loadConfig,
  tlsPlan,
  type TlsChoice,
  type TlsConfig,
} from '../../../src/config/index.js';
import { createTempDir, type TempDir } from './temp-files.js';

const UNVERIFIED = { rejectUnauthorized: false, servername: 'db.internal' };

/** A server error as pg reports it (pg.DatabaseError with a SQLSTATE). */
function serverError(code: string, message: string): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, 'error');
  error.code = code;
  return error;
}

const NO_TLS_SERVER = new Error('The server does not support SSL connections');
const PLAINTEXT_REFUSED = serverError('28000', 'no pg_hba.conf entry for host "10.0.0.5", user "app", database "alerts", no encryption');
const PLAINTEXT_REJECTED = serverError('28000', 'pg_hba.conf rejects connection for host "10.0.0.5", user "app", database "alerts", no encryption');
const PLAINTEXT_REFUSED_OLD = serverError('28000', 'no pg_hba.conf entry for host "10.0.0.5", user "app", database "alerts", SSL off');
const TLS_REFUSED = serverError('28000', 'no pg_hba.conf entry for host "10.0.0.5", user "app", database "alerts", SSL encryption');
const WRONG_PASSWORD = serverError('28P01', 'password authentication failed for user "app"');

function options(choice: TlsChoice | undefined): Record<string, unknown> {
  expect(choice).to.be.an('object');
  return { ...(choice as object) };
}

describe('tlsPlan: libpq sslmode meaning', () => {
  let temp: TempDir;
  let files: { ca: string; cert: string; key: string };
  const base = (overrides: Partial<TlsConfig>): TlsConfig => ({
    host: 'db.internal',
    sslMode: 'prefer',
    sslRootCert: undefined,
    sslCert: undefined,
    sslKey: undefined,
    ...overrides,
  });

  before(() => {
    temp = createTempDir();
    files = { ca: temp.write('ca.pem', 'CA PEM'), cert: temp.write('client.pem', 'CERT PEM'), key: temp.write('client.key', 'KEY PEM') };
  });
  after(() => temp.remove());

  it('disable: plaintext, no second attempt', () => {
    expect(tlsPlan(base({ sslMode: 'disable', sslRootCert: files.ca }))).to.deep.equal({ sslMode: 'disable', first: false, fallback: undefined });
  });

  it('allow: plaintext first, then unverified TLS', () => {
    const plan = tlsPlan(base({ sslMode: 'allow', sslRootCert: files.ca }));
    expect(plan.first).to.equal(false);
    expect(options(plan.fallback)).to.deep.equal(UNVERIFIED);
  });

  it('prefer: unverified TLS first, then plaintext', () => {
    const plan = tlsPlan(base({ sslMode: 'prefer', sslRootCert: files.ca }));
    expect(options(plan.first)).to.deep.equal(UNVERIFIED);
    expect(plan.fallback).to.equal(false);
  });

  it('require without a root certificate: TLS without any verification (node-postgres would verify)', () => {
    const plan = tlsPlan(base({ sslMode: 'require' }));
    expect(options(plan.first)).to.deep.equal(UNVERIFIED);
    expect(plan.fallback).to.equal(undefined);
  });

  it('require with a root certificate: the chain is verified, the host name is not (as verify-ca)', () => {
    const first = options(tlsPlan(base({ sslMode: 'require', sslRootCert: files.ca })).first);
    expect(first).to.include({ rejectUnauthorized: true, ca: 'CA PEM', servername: 'db.internal' });
    expect((first.checkServerIdentity as () => unknown)()).to.equal(undefined);
  });

  it('verify-ca: the chain is verified against the root certificate, any host name is accepted', () => {
    const plan = tlsPlan(base({ sslMode: 'verify-ca', sslRootCert: files.ca }));
    const first = options(plan.first);
    expect(first).to.include({ rejectUnauthorized: true, ca: 'CA PEM' });
    expect(first.checkServerIdentity).to.be.a('function');
    expect((first.checkServerIdentity as (host: string, cert: object) => unknown)('evil.example', {})).to.equal(undefined);
    expect(plan.fallback).to.equal(undefined);
  });

  it("verify-full: chain and host name verified (Node.js's own checkServerIdentity), SNI set to the host", () => {
    const plan = tlsPlan(base({ sslMode: 'verify-full', sslRootCert: files.ca }));
    expect(options(plan.first)).to.deep.equal({ rejectUnauthorized: true, ca: 'CA PEM', servername: 'db.internal' });
    expect(plan.fallback).to.equal(undefined);
  });

  it('sets no servername for an IP address (SNI takes names only)', () => {
    expect(options(tlsPlan(base({ host: '10.0.0.5', sslMode: 'verify-full', sslRootCert: files.ca })).first)).to.not.have.property('servername');
    expect(options(tlsPlan(base({ host: '::1', sslMode: 'require' })).first)).to.deep.equal({ rejectUnauthorized: false });
  });

  it("sslrootcert=system verifies with Node.js's CA roots (no ca option)", () => {
    expect(options(tlsPlan(base({ sslMode: 'verify-full', sslRootCert: 'system' })).first)).to.deep.equal({
      rejectUnauthorized: true,
      servername: 'db.internal',
    });
  });

  it('never uses TLS over a Unix socket, as libpq', () => {
    expect(tlsPlan(base({ host: '/var/run/postgresql', sslMode: 'verify-full', sslRootCert: files.ca }))).to.deep.equal({
      sslMode: 'verify-full',
      first: false,
      fallback: undefined,
    });
  });

  it('sends the client certificate and key read from files; the key is readable but hidden from logs', () => {
    const first = tlsPlan(base({ sslMode: 'verify-full', sslRootCert: files.ca, sslCert: files.cert, sslKey: files.key })).first;
    expect(first).to.include({ cert: 'CERT PEM' });
    expect(first !== false && first.key).to.equal('KEY PEM');
    expect(Object.keys(first)).to.not.include('key');
    expect(JSON.stringify(first)).to.not.contain('KEY PEM');
    expect(inspect(first)).to.not.contain('KEY PEM');
  });

  it('hands the key to pg: pg.Client accepts the frozen options and keeps the key', () => {
    const first = tlsPlan(base({ sslMode: 'require', sslCert: files.cert, sslKey: files.key })).first;
    const client = new pg.Client({ ssl: first });
    const ssl = (client as unknown as { ssl: { key?: string; cert?: string } }).ssl;
    expect(ssl.key).to.equal('KEY PEM');
    expect(ssl.cert).to.equal('CERT PEM');
  });

  it('returns frozen plans and options', () => {
    const plan = tlsPlan(base({ sslMode: 'prefer' }));
    expect(Object.isFrozen(plan)).to.equal(true);
    expect(Object.isFrozen(plan.first)).to.equal(true);
  });

  it('gives URL sslmode=require its libpq meaning, not node-postgres\'s "verify everything"', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://app@db.internal/alerts?sslmode=require' });
    expect(options(tlsPlan(config).first)).to.deep.equal(UNVERIFIED);
  });

  it('throws a ConfigError when a file cannot be read or verify-* has no root certificate', () => {
    const missing = `${temp.path}/gone.pem`;
    expect(() => tlsPlan(base({ sslMode: 'require', sslCert: missing, sslKey: files.key })))
      .to.throw(ConfigError)
      .with.property('problems')
      .that.deep.equals([{ field: 'sslCert', message: `file "${missing}" does not exist` }]);
    expect(() => tlsPlan(base({ sslMode: 'verify-full' })))
      .to.throw(ConfigError)
      .with.property('problems')
      .that.deep.equals([{ field: 'sslRootCert', message: 'sslmode verify-full needs a root certificate to verify the server with' }]);
  });
});

describe('isTlsRefusal', () => {
  it("recognises pg's error for a server without TLS when TLS was attempted", () => {
    expect(isTlsRefusal(NO_TLS_SERVER, 'tls')).to.equal(true);
    expect(isTlsRefusal(NO_TLS_SERVER, 'plaintext')).to.equal(false);
  });

  it('recognises a pg_hba.conf refusal of plaintext (SQLSTATE 28000, "no encryption"; "SSL off" before PostgreSQL 12)', () => {
    for (const error of [PLAINTEXT_REFUSED, PLAINTEXT_REJECTED, PLAINTEXT_REFUSED_OLD]) {
      expect(isTlsRefusal(error, 'plaintext'), error.message).to.equal(true);
      expect(isTlsRefusal(error, 'tls'), error.message).to.equal(false);
    }
  });

  it('recognises a pg_hba.conf refusal of TLS ("SSL encryption") when TLS was attempted', () => {
    expect(isTlsRefusal(TLS_REFUSED, 'tls')).to.equal(true);
    expect(isTlsRefusal(TLS_REFUSED, 'plaintext')).to.equal(false);
  });

  it('does not treat other failures as refusals', () => {
    expect(isTlsRefusal(WRONG_PASSWORD, 'plaintext')).to.equal(false);
    expect(isTlsRefusal(WRONG_PASSWORD, 'tls')).to.equal(false);
    expect(isTlsRefusal(serverError('3D000', 'database "x" does not exist, no encryption'), 'plaintext')).to.equal(false);
    expect(isTlsRefusal(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'tls')).to.equal(false);
    expect(isTlsRefusal('The server does not support SSL connections', 'tls')).to.equal(false);
    expect(isTlsRefusal(undefined, 'tls')).to.equal(false);
  });

  it('looks through the cause chain of a wrapping error', () => {
    const wrapped = new Error('could not open a connection', { cause: new Error('attempt 1 failed', { cause: PLAINTEXT_REFUSED }) });
    expect(isTlsRefusal(wrapped, 'plaintext')).to.equal(true);
  });
});

describe('fallbackFor', () => {
  const plan = (sslMode: 'allow' | 'prefer' | 'require' | 'disable') =>
    tlsPlan({ host: 'db.internal', sslMode, sslRootCert: undefined, sslCert: undefined, sslKey: undefined });

  it('prefer: plaintext after a server without TLS, nothing after other errors', () => {
    expect(fallbackFor(plan('prefer'), NO_TLS_SERVER)).to.equal(false);
    expect(fallbackFor(plan('prefer'), TLS_REFUSED)).to.equal(false);
    expect(fallbackFor(plan('prefer'), WRONG_PASSWORD)).to.equal(undefined);
  });

  it('allow: unverified TLS after a refusal of plaintext, nothing after other errors', () => {
    expect(options(fallbackFor(plan('allow'), PLAINTEXT_REFUSED))).to.deep.equal(UNVERIFIED);
    expect(fallbackFor(plan('allow'), WRONG_PASSWORD)).to.equal(undefined);
    expect(fallbackFor(plan('allow'), NO_TLS_SERVER)).to.equal(undefined);
  });

  it('require and disable: never a second attempt', () => {
    expect(fallbackFor(plan('require'), NO_TLS_SERVER)).to.equal(undefined);
    expect(fallbackFor(plan('disable'), PLAINTEXT_REFUSED)).to.equal(undefined);
  });

  it('attemptOf names what a choice attempts', () => {
    expect(attemptOf(false)).to.equal('plaintext');
    expect(attemptOf({ rejectUnauthorized: false })).to.equal('tls');
  });
});
