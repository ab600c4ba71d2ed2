import { expect } from 'chai';
import { Writable } from 'node:stream';
import winston from 'winston';
import { ConfigError } from '../../../src/errors/config-error.js';
import type { Logger } from '../../../src/observability/logger.js';
import { componentLogger, createLogger, type LoggerOptions } from '../../../src/observability/index.js';
import { redactString } from '../../../src/observability/logger-factory.js';

const SECRET = 'hunter2-S3cret';
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const PRETTY_PREFIX = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z /;

/** A stream that keeps what is written to it; `lines()` splits it on `\n`. */
class Capture extends Writable {
  readonly chunks: string[] = [];
  isTTY?: boolean;

  constructor(options: { tty?: boolean } = {}) {
    super();
    if (options.tty) this.isTTY = true;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(String(chunk));
    callback();
  }

  text(): string {
    return this.chunks.join('');
  }

  lines(): string[] {
    const text = this.text();
    expect(text === '' || text.endsWith('\n'), 'every line ends with \\n').to.equal(true);
    return text === '' ? [] : text.slice(0, -1).split('\n');
  }

  json(): Record<string, unknown>[] {
    return this.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  only(): Record<string, unknown> {
    const entries = this.json();
    expect(entries).to.have.length(1);
    return entries[0] as Record<string, unknown>;
  }
}

/** A logger writing to a fresh capture, with an empty environment unless one is given. */
function capture(options: LoggerOptions = {}): { logger: winston.Logger; out: Capture } {
  const out = new Capture();
  return { logger: createLogger({ env: {}, ...options, stream: out }), out };
}

function configError(options: LoggerOptions): ConfigError {
  try {
    createLogger({ stream: new Capture(), ...options });
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  return expect.fail('expected a ConfigError');
}

describe('createLogger', () => {
  describe('JSON output (the default)', () => {
    it('writes one JSON object per line: timestamp, level, message, then the meta fields', () => {
      const { logger, out } = capture();
      logger.warn('idle connection failed and was removed from the pool', {
        pool: 'default',
        connectionId: 3,
        error: { message: 'terminating connection due to administrator command', code: '57P01' },
      });
      logger.info('second line');

      const lines = out.lines();
      expect(lines).to.have.length(2);
      const first = JSON.parse(lines[0] as string) as Record<string, unknown>;
      expect(Object.keys(first)).to.deep.equal(['timestamp', 'level', 'message', 'pool', 'connectionId', 'error']);
      expect(first.timestamp).to.match(ISO_TIMESTAMP);
      expect(new Date(first.timestamp as string).toISOString()).to.equal(first.timestamp);
      expect(first).to.deep.include({
        level: 'warn',
        message: 'idle connection failed and was removed from the pool',
        pool: 'default',
        connectionId: 3,
        error: { message: 'terminating connection due to administrator command', code: '57P01' },
      });
      expect(JSON.parse(lines[1] as string)).to.deep.include({ level: 'info', message: 'second line' });
    });

    it('adds defaultMeta to every line', () => {
      const { logger, out } = capture({ defaultMeta: { service: 'alerts-api' } });
      logger.info('started', { port: 8080 });
      expect(out.only()).to.deep.include({ service: 'alerts-api', port: 8080, message: 'started' });
    });

    it('writes bigint values as strings and leaves functions out', () => {
      const { logger, out } = capture();
      logger.info('sizes', { bytes: 12345678901234567890n, callback: () => undefined });
      const entry = out.only();
      expect(entry.bytes).to.equal('12345678901234567890');
      expect(entry).not.to.have.property('callback');
    });
  });

  describe('level', () => {
    it('defaults to info: debug is hidden, info and above are written', () => {
      const { logger, out } = capture();
      logger.debug('hidden');
      logger.info('shown');
      logger.error('shown too');
      expect(out.json().map((entry) => entry.message)).to.deep.equal(['shown', 'shown too']);
      expect(logger.level).to.equal('info');
    });

    it('reads LOG_LEVEL (case-insensitive)', () => {
      const atInfo = capture({ env: { LOG_LEVEL: 'info' } });
      atInfo.logger.debug('hidden at info');
      expect(atInfo.out.lines()).to.deep.equal([]);

      const atDebug = capture({ env: { LOG_LEVEL: 'debug' } });
      atDebug.logger.debug('shown at debug');
      atDebug.logger.silly('hidden at debug');
      expect(atDebug.out.json().map((entry) => entry.message)).to.deep.equal(['shown at debug']);

      const atWarn = capture({ env: { LOG_LEVEL: ' WARN ' } });
      atWarn.logger.info('hidden at warn');
      atWarn.logger.warn('shown at warn');
      expect(atWarn.out.json().map((entry) => entry.message)).to.deep.equal(['shown at warn']);
    });

    it('accepts every npm level of winston', () => {
      for (const level of ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']) {
        expect(createLogger({ env: { LOG_LEVEL: level }, stream: new Capture() }).level).to.equal(level);
      }
    });

    it('treats an empty LOG_LEVEL / LOG_FORMAT as unset', () => {
      const { logger, out } = capture({ env: { LOG_LEVEL: '', LOG_FORMAT: '  ' } });
      logger.info('json at info');
      expect(out.only()).to.deep.include({ level: 'info', message: 'json at info' });
    });
  });

  describe('pretty output', () => {
    it('LOG_FORMAT=pretty writes one line: timestamp, padded level, [component], message, key=value', () => {
      const { logger, out } = capture({ env: { LOG_FORMAT: 'pretty' } });
      componentLogger(logger, 'pool').warn('connection held longer than the leak detection threshold; possible leak', {
        pool: 'default',
        connectionId: 7,
        heldMs: 30012,
      });
      const lines = out.lines();
      expect(lines).to.have.length(1);
      const line = lines[0] as string;
      expect(line).to.match(PRETTY_PREFIX);
      expect(line.replace(PRETTY_PREFIX, '')).to.equal(
        'warn  [pool] connection held longer than the leak detection threshold; possible leak pool=default connectionId=7 heldMs=30012',
      );
    });

    it('omits the brackets without a component, flattens nested objects, quotes values that need it', () => {
      const { logger, out } = capture({ format: 'pretty' });
      logger.error('query failed', {
        kind: 'connection',
        error: { message: 'Connection terminated unexpectedly', code: '08006' },
        tables: ['note', 'alert'],
        empty: '',
        table: undefined,
        ok: false,
        none: null,
      });
      const line = (out.lines()[0] as string).replace(PRETTY_PREFIX, '');
      expect(line).to.equal(
        'error query failed kind=connection error.message="Connection terminated unexpectedly" error.code=08006 tables=["note","alert"] empty="" ok=false none=null',
      );
    });

    it('keeps a multi-line message and values on one line, terminal escapes escaped', () => {
      const { logger, out } = capture({ format: 'pretty' });
      logger.info('first\nsecond\r\nthird \u001b[31mred', { detail: 'a\nb' });
      const lines = out.lines();
      expect(lines).to.have.length(1);
      expect((lines[0] as string).replace(PRETTY_PREFIX, '')).to.equal('info  first\\nsecond\\nthird \\u001b[31mred detail="a\\nb"');
    });

    it('colors the level only when the stream is a TTY and NO_COLOR is unset', () => {
      const tty = new Capture({ tty: true });
      createLogger({ env: {}, format: 'pretty', stream: tty }).warn('colored');
      expect(tty.text()).to.include('\u001b[33mwarn\u001b[39m');

      const noColor = new Capture({ tty: true });
      createLogger({ env: { NO_COLOR: '1' }, format: 'pretty', stream: noColor }).warn('plain');
      expect(noColor.text()).not.to.include('\u001b[');

      const pipe = new Capture();
      createLogger({ env: {}, format: 'pretty', stream: pipe }).warn('plain');
      expect(pipe.text()).not.to.include('\u001b[');
    });

    it('never colors JSON, even on a TTY', () => {
      const tty = new Capture({ tty: true });
      createLogger({ env: {}, stream: tty }).warn('json', { a: 1 });
      expect(tty.text()).not.to.include('\u001b[');
      expect(JSON.parse(tty.text())).to.deep.include({ level: 'warn', a: 1 });
    });
  });

  describe('configuration', () => {
    it('explicit options win over LOG_LEVEL and LOG_FORMAT', () => {
      const { logger, out } = capture({ env: { LOG_LEVEL: 'error', LOG_FORMAT: 'pretty' }, level: 'debug', format: 'json' });
      logger.debug('explicit wins');
      expect(out.only()).to.deep.include({ level: 'debug', message: 'explicit wins' });
    });

    it('explicit options win even over invalid variables, which are then not read', () => {
      const { logger, out } = capture({ env: { LOG_LEVEL: 'loud', LOG_FORMAT: 'xml' }, level: 'warn', format: 'pretty' });
      logger.info('hidden');
      logger.warn('shown');
      expect(out.lines()).to.have.length(1);
      expect(out.lines()[0]).to.match(/ warn {2}shown$/);
    });

    it('rejects an invalid LOG_LEVEL and LOG_FORMAT with one ConfigError naming both and the allowed values', () => {
      const error = configError({ env: { LOG_LEVEL: 'loud', LOG_FORMAT: 'xml' } });
      expect(error.problems.map((problem) => problem.field)).to.deep.equal(['LOG_LEVEL', 'LOG_FORMAT']);
      expect(error.problems[0]?.message).to.equal('must be one of error, warn, info, http, verbose, debug, silly (got "loud")');
      expect(error.problems[1]?.message).to.equal('must be one of json, pretty (got "xml")');
      expect(error.message).to.include('LOG_LEVEL').and.to.include('LOG_FORMAT');
      expect(error.code).to.equal('INVALID_CONFIG');
    });

    it('rejects one invalid variable alone', () => {
      const error = configError({ env: { LOG_FORMAT: 'text' } });
      expect(error.problems.map((problem) => problem.field)).to.deep.equal(['LOG_FORMAT']);
    });

    it('rejects invalid explicit options, naming the option', () => {
      const error = configError({ env: {}, level: 'verbose2', format: 'yaml' as 'json' });
      expect(error.problems.map((problem) => problem.field)).to.deep.equal(['level', 'format']);
    });

    it('reads process.env when no env is given', () => {
      const saved = process.env.LOG_LEVEL;
      process.env.LOG_LEVEL = 'verbose';
      try {
        expect(createLogger({ stream: new Capture() }).level).to.equal('verbose');
      } finally {
        if (saved === undefined) delete process.env.LOG_LEVEL;
        else process.env.LOG_LEVEL = saved;
      }
    });
  });

  describe('redaction', () => {
    it('replaces the values of secret keys at any depth, in arrays too, ignoring case', () => {
      const { logger, out } = capture();
      logger.info('request', {
        password: SECRET,
        config: { db: { PGPASSWORD: SECRET, user: 'app', connectionString: `postgres://app:${SECRET}@db/alerts` } },
        headers: [{ Authorization: `Bearer ${SECRET}` }, { Cookie: `sid=${SECRET}` }, { accept: 'application/json' }],
        apiKey: SECRET,
        api_key: SECRET,
        'x-api-key': SECRET,
        accessToken: SECRET,
        clientSecret: SECRET,
        passwd: SECRET,
        pwd: SECRET,
        nested: { secret: { deeper: SECRET } },
      });
      const text = out.text();
      expect(text).not.to.include(SECRET);
      expect(out.only()).to.deep.include({
        password: '[REDACTED]',
        config: { db: { PGPASSWORD: '[REDACTED]', user: 'app', connectionString: '[REDACTED]' } },
        headers: [{ Authorization: '[REDACTED]' }, { Cookie: '[REDACTED]' }, { accept: 'application/json' }],
        apiKey: '[REDACTED]',
        api_key: '[REDACTED]',
        'x-api-key': '[REDACTED]',
        accessToken: '[REDACTED]',
        clientSecret: '[REDACTED]',
        passwd: '[REDACTED]',
        pwd: '[REDACTED]',
        nested: { secret: '[REDACTED]' },
      });
    });

    it('adds redactKeys to the defaults: a string matches the whole key ignoring case, a RegExp is tested', () => {
      const { logger, out } = capture({ redactKeys: ['ssn', /^x-internal-/gi] });
      logger.info('custom', { SSN: '123-45-6789', ssnVerified: true, 'X-Internal-Sig': 'abc', 'x-internal-other': 'def', password: SECRET });
      logger.info('again', { 'x-internal-sig': 'ghi' });
      const [first, second] = out.json();
      expect(first).to.deep.include({ SSN: '[REDACTED]', ssnVerified: true, 'X-Internal-Sig': '[REDACTED]', 'x-internal-other': '[REDACTED]', password: '[REDACTED]' });
      expect(second).to.deep.include({ 'x-internal-sig': '[REDACTED]' });
    });

    it('masks URL credentials in the message and in meta strings, keeping the user and host', () => {
      const { logger, out } = capture();
      logger.warn(`cannot reach postgres://app:${SECRET}@db.internal:6432/alerts?sslmode=require`, {
        target: `postgresql://app:${SECRET}@db.internal/alerts`,
        list: [`redis://:${SECRET}@cache:6379/0`, 'https://example.com/docs'],
        weird: `postgres://app:p@ss/w0rd@db/alerts`,
        noCredentials: 'postgres://app@db:5432/alerts',
      });
      const entry = out.only();
      expect(out.text()).not.to.include(SECRET);
      expect(entry.message).to.equal('cannot reach postgres://app:***@db.internal:6432/alerts?sslmode=require');
      expect(entry.target).to.equal('postgresql://app:***@db.internal/alerts');
      expect(entry.list).to.deep.equal(['redis://:***@cache:6379/0', 'https://example.com/docs']);
      expect(entry.weird).to.equal('postgres://app:***@db/alerts');
      expect(entry.noCredentials).to.equal('postgres://app@db:5432/alerts');
    });

    it('masks password= in libpq keyword strings (quoted or not), PGPASSWORD= and ?password=', () => {
      const { logger, out } = capture();
      logger.info(`connecting with host=db password=${SECRET} user=app`, {
        quoted: `host=db password='${SECRET} with spaces \\' quote' dbname=alerts`,
        env: `PGPASSWORD=${SECRET} psql`,
        query: `postgres://db/alerts?user=app&password=${SECRET}`,
        spaced: `password = ${SECRET}`,
      });
      const entry = out.only();
      expect(out.text()).not.to.include(SECRET);
      expect(entry.message).to.equal('connecting with host=db password=*** user=app');
      expect(entry.quoted).to.equal('host=db password=*** dbname=alerts');
      expect(entry.env).to.equal('PGPASSWORD=*** psql');
      expect(entry.query).to.equal('postgres://db/alerts?user=app&password=***');
      expect(entry.spaced).to.equal('password = ***');
    });

    it('masks in pretty output as well', () => {
      const { logger, out } = capture({ format: 'pretty' });
      logger.info(`url postgres://app:${SECRET}@db/alerts`, { password: SECRET, dsn: `password=${SECRET}` });
      expect(out.text()).not.to.include(SECRET);
      expect((out.lines()[0] as string).replace(PRETTY_PREFIX, '')).to.equal('info  url postgres://app:***@db/alerts password=[REDACTED] dsn="password=***"');
    });

    it('renders an Error in meta as { name, message, code }, without the stack above debug', () => {
      const { logger, out } = capture();
      const error = Object.assign(new Error(`connect ECONNREFUSED postgres://app:${SECRET}@db/alerts`), { code: 'ECONNREFUSED', password: SECRET });
      logger.error('could not open a connection', { pool: 'default', error });
      const entry = out.only();
      expect(entry.error).to.deep.equal({ name: 'Error', message: 'connect ECONNREFUSED postgres://app:***@db/alerts', code: 'ECONNREFUSED' });
      expect(out.text()).not.to.include(SECRET);
      expect(out.text()).not.to.include(' at ');
    });

    it('renders the cause of an error the same way', () => {
      const { logger, out } = capture();
      const cause = Object.assign(new Error('terminating connection'), { code: '57P01' });
      const error = Object.assign(new TypeError('wrapped', { cause }), { code: 42 });
      logger.warn('failed', { error });
      expect(out.only().error).to.deep.equal({
        name: 'TypeError',
        message: 'wrapped',
        code: 42,
        cause: { name: 'Error', message: 'terminating connection', code: '57P01' },
      });
    });

    it('keeps the stack, redacted, when the level enables debug', () => {
      const { logger, out } = capture({ level: 'debug' });
      logger.error('failed', { error: new Error(`bad password=${SECRET}`) });
      const rendered = out.only().error as Record<string, unknown>;
      expect(rendered.stack).to.be.a('string').and.to.match(/^Error: bad password=\*\*\*\n\s+at /);
      expect(out.text()).not.to.include(SECRET);
    });

    it('handles an Error given as the whole meta (winston copies its message and stack)', () => {
      const info = capture();
      info.logger.error('failed:', Object.assign(new Error(`for postgres://u:${SECRET}@h/d`), { code: 'E1' }) as unknown as Record<string, unknown>);
      expect(info.out.only()).to.deep.include({ message: 'failed: for postgres://u:***@h/d', code: 'E1' });
      expect(info.out.only()).not.to.have.property('stack');

      const debug = capture({ level: 'debug' });
      debug.logger.error('failed:', new Error(`for postgres://u:${SECRET}@h/d`) as unknown as Record<string, unknown>);
      expect(debug.out.only().stack).to.match(/^Error: for postgres:\/\/u:\*\*\*@h\/d\n/);
      expect(debug.out.text()).not.to.include(SECRET);
    });

    it('never modifies the caller objects', () => {
      const { logger, out } = capture();
      const error = Object.assign(new Error(`postgres://app:${SECRET}@db`), { code: 'X' });
      const meta = {
        password: SECRET,
        nested: { token: SECRET, list: [{ secret: SECRET }, `password=${SECRET}`] },
        url: `postgres://app:${SECRET}@db`,
        error,
      };
      const before = structuredClone({ ...meta, error: undefined });
      logger.info('no mutation', meta);
      expect({ ...meta, error: undefined }).to.deep.equal(before);
      expect(meta.error).to.equal(error);
      expect(error.message).to.equal(`postgres://app:${SECRET}@db`);
      expect(Object.keys(meta)).to.deep.equal(['password', 'nested', 'url', 'error']);
      expect(out.text()).not.to.include(SECRET);
    });

    it('writes [Circular] for cycles instead of throwing; a value seen twice without a cycle is written twice', () => {
      const { logger, out } = capture();
      const shared = { id: 1 };
      const meta: Record<string, unknown> = { a: shared, b: shared, list: [] as unknown[] };
      meta.self = meta;
      (meta.list as unknown[]).push(meta.list, { password: SECRET, back: meta });
      expect(() => logger.info('cyclic', meta)).not.to.throw();
      const entry = out.only();
      expect(entry.a).to.deep.equal({ id: 1 });
      expect(entry.b).to.deep.equal({ id: 1 });
      // winston copies the top-level meta, so a reference back to it is written once, then cut
      expect(entry.self).to.deep.include({ a: { id: 1 }, self: '[Circular]' });
      const list = entry.list as unknown[];
      expect(list[0]).to.equal('[Circular]');
      expect(list[1]).to.deep.include({ password: '[REDACTED]' });
      expect((list[1] as Record<string, unknown>).back).to.deep.include({ self: '[Circular]', list: '[Circular]' });
      expect(out.text()).not.to.include(SECRET);
    });

    it('cuts values nested too deep', () => {
      const { logger, out } = capture();
      let deep: Record<string, unknown> = { password: SECRET, leaf: `password=${SECRET}` };
      for (let i = 0; i < 20; i += 1) deep = { next: deep };
      logger.info('deep', { deep });
      expect(out.text()).to.include('[Truncated]');
      expect(out.text()).not.to.include(SECRET);
    });

    it('writes what toJSON returns (dates), redacted, and survives throwing getters', () => {
      const { logger, out } = capture();
      const hostile = Object.defineProperty({}, 'boom', {
        enumerable: true,
        get() {
          throw new Error('getter');
        },
      });
      logger.info('values', {
        at: new Date('2026-11-27T03:51:16.123Z'),
        custom: { toJSON: () => ({ password: SECRET, url: `postgres://a:${SECRET}@h` }) },
        hostile,
        settings: new Map<string, unknown>([['token', SECRET], ['user', 'app']]),
      });
      const entry = out.only();
      expect(entry.at).to.equal('2026-11-27T03:51:16.123Z');
      expect(entry.custom).to.deep.equal({ password: '[REDACTED]', url: 'postgres://a:***@h' });
      expect(entry.hostile).to.equal('[Unserializable]');
      expect(entry.settings).to.deep.equal({ token: '[REDACTED]', user: 'app' });
      expect(out.text()).not.to.include(SECRET);
    });
  });
});

describe('componentLogger', () => {
  it('uses child() of a winston logger: every line carries the component', () => {
    const { logger, out } = capture();
    const pool = componentLogger(logger, 'pool');
    pool.warn('pool did not finish closing within the close timeout', { pool: 'default' });
    pool.debug('hidden at info', { pool: 'default' });
    const entry = out.only();
    expect(Object.keys(entry).slice(0, 4)).to.deep.equal(['timestamp', 'level', 'message', 'component']);
    expect(entry).to.deep.include({ component: 'pool', pool: 'default', level: 'warn' });
  });

  it('lets an inner component and a line component win, as winston children do', () => {
    const { logger, out } = capture();
    componentLogger(componentLogger(logger, 'database'), 'pool').info('inner');
    componentLogger(logger, 'pool').info('line', { component: 'dialect' });
    expect(out.json().map((entry) => entry.component)).to.deep.equal(['pool', 'dialect']);
  });

  it('wraps a console-like object without child(), keeping its this and the meta', () => {
    const calls: [string, string, Record<string, unknown> | undefined][] = [];
    class Recorder implements Logger {
      readonly prefix = 'rec';
      #record(level: string, message: string, meta?: Record<string, unknown>): void {
        calls.push([`${this.prefix}:${level}`, message, meta]);
      }
      error(message: string, meta?: Record<string, unknown>): void {
        this.#record('error', message, meta);
      }
      warn(message: string, meta?: Record<string, unknown>): void {
        this.#record('warn', message, meta);
      }
      info(message: string, meta?: Record<string, unknown>): void {
        this.#record('info', message, meta);
      }
      debug(message: string, meta?: Record<string, unknown>): void {
        this.#record('debug', message, meta);
      }
    }
    const recorder = new Recorder();
    const dialect = componentLogger(recorder, 'dialect');
    const meta = { connectionId: 2 };
    dialect.error('e', meta);
    dialect.warn('w');
    dialect.info('i', { component: 'override' });
    dialect.debug('d', { kind: 'timeout' });
    expect(calls).to.deep.equal([
      ['rec:error', 'e', { component: 'dialect', connectionId: 2 }],
      ['rec:warn', 'w', { component: 'dialect' }],
      ['rec:info', 'i', { component: 'override' }],
      ['rec:debug', 'd', { component: 'dialect', kind: 'timeout' }],
    ]);
    expect(meta).to.deep.equal({ connectionId: 2 });
  });

  it('accepts a plain object of four functions, and one whose child() returns no logger', () => {
    const seen: unknown[] = [];
    const plain = { error: (...args: unknown[]) => seen.push(args), warn: () => undefined, info: () => undefined, debug: () => undefined };
    componentLogger(plain, 'health').error('down', { check: 'db' });
    const odd = { ...plain, child: () => 'not a logger' };
    componentLogger(odd, 'metrics').error('odd');
    expect(seen).to.deep.equal([
      ['down', { component: 'health', check: 'db' }],
      ['odd', { component: 'metrics' }],
    ]);
  });

  it("keeps the format and transports of the user's own winston logger", () => {
    const out = new Capture();
    const own = winston.createLogger({
      level: 'debug',
      format: winston.format.printf((info) => `${info.level}|${String(info.component)}|${String(info.message)}|${String(info.connectionId)}`),
      transports: [new winston.transports.Stream({ stream: out, eol: '\n' })],
    });
    const connection = componentLogger(own, 'connection');
    connection.debug('connection opened', { connectionId: 4 });
    expect(out.lines()).to.deep.equal(['debug|connection|connection opened|4']);
  });
});

describe('redactString', () => {
  const cases: [string, string][] = [
    ["ALTER ROLE bob PASSWORD 'hunter2'", "ALTER ROLE bob PASSWORD '***'"],
    ["create user x with password 'a''b' login", "create user x with password '***' login"],
    ['{"password":"x1","user":"u"}', '{"password":"***","user":"u"}'],
    ["token: 'abc'", 'token: "***"'],
    ['https://h/p?access_token=abc&x=1', 'https://h/p?access_token=***&x=1'],
    ['https://h/p?api_key=k1#top', 'https://h/p?api_key=***#top'],
    ['postgres://u:pw@h/db', 'postgres://u:***@h/db'],
    ['password=abc def', 'password=*** def'],
    ['select count(*) from tokens where id = $1', 'select count(*) from tokens where id = $1'],
  ];
  for (const [input, expected] of cases) {
    it(`masks ${JSON.stringify(input)}`, () => {
      expect(redactString(input)).to.equal(expected);
    });
  }

  it('masks the newer secret keys in meta (passphrase, private key, credentials, pass, pw)', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = createLogger({ stream, env: {} });
    logger.info('tls', { passphrase: 'p1', privateKey: 'k1', credentials: { user: 'u' }, pass: 'p2', pw: 'p3', user: 'visible' });
    const line = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(line).to.include({ passphrase: '[REDACTED]', privateKey: '[REDACTED]', credentials: '[REDACTED]', pass: '[REDACTED]', pw: '[REDACTED]', user: 'visible' });
  });
});
