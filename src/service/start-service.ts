import { loadConfig } from '../config/load-config.js';
import { createDatabase, type Database } from '../database/create-database.js';
import { migrate } from '../migrate/migrate.js';
import { createLogger } from '../observability/logger-factory.js';
import type { Logger } from '../observability/logger.js';
import type { DB } from '../schema/database.js';
import { createService, type AlertHistoryService } from './create-service.js';
import { describeDatabase } from './describe-database.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded-database.js';
import { packageMigrationsDir } from './package-paths.js';
import { databaseConfigured, readServiceConfig } from './service-config.js';

/** Where {@link startService} prints its few lines for humans. */
export interface TextOutput {
  write(text: string): unknown;
}

/** Options of {@link startService}; everything defaults to this process's. */
export interface StartServiceOptions {
  /** Environment: the service's variables (docs/service.md) and the database's (`DATABASE_URL`, `PG*`, `DB_*`). Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Resolves a relative `DATA_DIR`. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Where the start-up lines go (URL, database, migrations). Default `process.stdout`. */
  readonly stdout?: TextOutput;
  /** The service's logger. Default `createLogger({ env })` (JSON lines on stdout, `LOG_LEVEL`, `LOG_FORMAT`). */
  readonly logger?: Logger;
  /** The migrations applied at start. Default: the package's `migrations/`. */
  readonly migrationsDir?: string;
}

/** A started service: listening, its database open, migrations applied. */
export interface RunningService {
  /** Where it listens, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** The database in use, without the password (`postgres://user@host:port/db`). */
  readonly databaseUrl: string;
  /** The embedded PostgreSQL started because no database was configured, if any. */
  readonly embedded: EmbeddedDatabase | undefined;
  readonly service: AlertHistoryService;
  readonly database: Database<DB>;
  /**
   * Graceful stop: stops accepting connections and lets the requests in flight finish, closes the
   * database (pool), then stops the embedded PostgreSQL if one was started. Idempotent.
   */
  close(): Promise<void>;
}

/** Runs `steps` one after the other, newest first, each even when one before failed; rethrows the first failure. */
async function unwind(steps: readonly (() => Promise<void>)[]): Promise<void> {
  let failure: unknown;
  for (const step of [...steps].reverse()) {
    try {
      await step();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}

/**
 * `npm start`: reads the environment (docs/service.md), starts an embedded PostgreSQL under
 * `DATA_DIR/postgres` when no database is configured (none of `DATABASE_URL`, `PGHOST`, `PGPORT`,
 * `PGDATABASE`, `PGUSER`, `PGPASSWORD`, `PGPASSWORD_FILE`, `DB_HOST`, `DB_PORT`, `DB_NAME`,
 * `DB_USER`, `DB_PASSWORD`, `DB_PASSWORD_FILE` is set), opens the database, applies pending
 * migrations unless `MIGRATE_ON_START=false`, and listens on `HOST`:`PORT`. Prints the URL, the
 * database (never its password) and how to use another server. Whatever was started is stopped
 * again when a step fails.
 *
 * Signals are not handled here: `main.ts` calls {@link RunningService.close} on SIGTERM/SIGINT.
 *
 * @throws ServiceConfigError, ConfigError (database settings), MigrationError…, or the listen error.
 */
export async function startService(options: StartServiceOptions = {}): Promise<RunningService> {
  const env = options.env ?? process.env;
  const out = options.stdout ?? process.stdout;
  const config = readServiceConfig(env, options.cwd);
  const logger = options.logger ?? createLogger({ env });
  const cleanups: (() => Promise<void>)[] = [];
  try {
    let embedded: EmbeddedDatabase | undefined;
    if (!databaseConfigured(env)) {
      out.write(`No database configured (DATABASE_URL, PG* or DB_* variables): starting embedded PostgreSQL with its data in ${config.dataDir}\n`);
      const started = await startEmbeddedDatabase(config.dataDir);
      embedded = started;
      cleanups.push(() => started.stop());
    }
    const pgConfig = loadConfig(env, embedded?.config ?? {}, {
      onWarning: (warning) => logger.warn('database configuration warning', { field: warning.field, detail: warning.message }),
    });
    const databaseUrl = describeDatabase(pgConfig);
    out.write(
      embedded === undefined
        ? `Database: ${databaseUrl}\n`
        : `Database: ${databaseUrl} (embedded PostgreSQL ${embedded.server.dataDir}, kept between runs)\n` +
            '  To use your own PostgreSQL instead: DATABASE_URL=postgres://user:password@host:5432/dbname npm start\n',
    );
    const database = createDatabase<DB>(pgConfig, { logger });
    cleanups.push(() => database.close());
    if (config.migrateOnStart) {
      const result = await migrate(database, { dir: options.migrationsDir ?? packageMigrationsDir(), env, logger });
      out.write(
        result.applied.length === 0
          ? `Migrations: up to date (version ${result.version})\n`
          : `Migrations: applied ${result.applied.length}, now at version ${result.version}\n`,
      );
    }
    const service = await createService({ database, logger, bodyLimitBytes: config.bodyLimitBytes });
    cleanups.push(() => service.close());
    const url = await service.listen({ host: config.host, port: config.port });
    // last: the line that says the service is ready
    out.write(`Alert History service listening on ${url} (Alertmanager webhook: ${url}/webhook)\n`);
    let closing: Promise<void> | undefined;
    return Object.freeze({
      url,
      databaseUrl,
      embedded,
      service,
      database,
      close: () => {
        closing ??= unwind(cleanups);
        return closing;
      },
    });
  } catch (error) {
    await unwind(cleanups).catch((cleanupError: unknown) => logger.error('clean-up after a failed start failed', { error: cleanupError }));
    throw error;
  }
}
