import { isAbsolute, resolve } from 'node:path';

/** The Alert History service's own settings (the database's come from the library's configuration). */
export interface ServiceConfig {
  /** `HOST`: the address to listen on. Default `127.0.0.1`. */
  readonly host: string;
  /** `PORT`: the TCP port, 0 for any free port. Default 8080. */
  readonly port: number;
  /** `BODY_LIMIT_BYTES`: largest webhook body accepted; larger ones get 413. Default 1 MiB. */
  readonly bodyLimitBytes: number;
  /** `MIGRATE_ON_START`: apply pending migrations before serving. Default `true`. */
  readonly migrateOnStart: boolean;
  /** `DATA_DIR`: where the embedded PostgreSQL keeps its data, absolute. Default `./.data` of the working directory. */
  readonly dataDir: string;
}

/** One thing wrong with the service's environment. */
export interface ServiceConfigProblem {
  /** The environment variable. */
  readonly variable: string;
  readonly message: string;
}

/** The service's environment is invalid; `problems` lists every problem. */
export class ServiceConfigError extends Error {
  readonly problems: readonly ServiceConfigProblem[];

  constructor(problems: readonly ServiceConfigProblem[]) {
    super(`invalid service configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')}`);
    this.name = 'ServiceConfigError';
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}

/** Defaults of {@link ServiceConfig}. */
export const SERVICE_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  bodyLimitBytes: 1024 * 1024,
  migrateOnStart: true,
  dataDir: '.data',
});

/**
 * Variables that name a PostgreSQL server or account. When none of them is set (non-empty),
 * `npm start` runs an embedded PostgreSQL instead. Pool and TLS tuning (`DB_MAX_CONNS`,
 * `PGSSLMODE`, `PGAPPNAME`, `PGPASSFILE`…) does not count: it tunes a connection, it names no server.
 */
export const DATABASE_TARGET_VARIABLES: readonly string[] = Object.freeze([
  'DATABASE_URL',
  'PGHOST',
  'PGPORT',
  'PGDATABASE',
  'PGUSER',
  'PGPASSWORD',
  'PGPASSWORD_FILE',
  'DB_HOST',
  'DB_PORT',
  'DB_NAME',
  'DB_USER',
  'DB_PASSWORD',
  'DB_PASSWORD_FILE',
]);

type Env = Readonly<Record<string, string | undefined>>;

/** Whether `env` names a database server (any of {@link DATABASE_TARGET_VARIABLES} set and non-empty). */
export function databaseConfigured(env: Env): boolean {
  return DATABASE_TARGET_VARIABLES.some((name) => (env[name] ?? '').trim() !== '');
}

/** Largest body limit accepted: 1 GiB. */
const MAX_BODY_LIMIT = 1024 * 1024 * 1024;

/**
 * Reads `HOST`, `PORT`, `BODY_LIMIT_BYTES`, `MIGRATE_ON_START` and `DATA_DIR` (empty means unset).
 * `cwd` resolves a relative `DATA_DIR`.
 *
 * @throws ServiceConfigError listing every invalid variable.
 */
export function readServiceConfig(env: Env, cwd: string = process.cwd()): ServiceConfig {
  const problems: ServiceConfigProblem[] = [];
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push({ variable: name, message: `must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})` });
      return fallback;
    }
    return Number(raw);
  };
  const host = value('HOST') ?? SERVICE_DEFAULTS.host;
  const port = integer('PORT', SERVICE_DEFAULTS.port, 0, 65535);
  const bodyLimitBytes = integer('BODY_LIMIT_BYTES', SERVICE_DEFAULTS.bodyLimitBytes, 1, MAX_BODY_LIMIT);
  let migrateOnStart: boolean = SERVICE_DEFAULTS.migrateOnStart;
  const migrate = value('MIGRATE_ON_START')?.toLowerCase();
  if (migrate === 'false' || migrate === '0') migrateOnStart = false;
  else if (migrate !== undefined && migrate !== 'true' && migrate !== '1') {
    problems.push({ variable: 'MIGRATE_ON_START', message: `must be true or false (got ${JSON.stringify(migrate)})` });
  }
  const dataDirRaw = value('DATA_DIR') ?? SERVICE_DEFAULTS.dataDir;
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);
  if (problems.length > 0) throw new ServiceConfigError(problems);
  return Object.freeze({ host, port, bodyLimitBytes, migrateOnStart, dataDir });
}
