import type { PostgresConfig } from '../config/postgres-config.js';

/**
 * The database of `config` as a URL without the password, for humans:
 * `postgres://alerts@db.example:5432/alert_history`; a Unix socket directory goes in `?host=`.
 */
export function describeDatabase(config: Pick<PostgresConfig, 'host' | 'port' | 'user' | 'database'>): string {
  const user = encodeURIComponent(config.user);
  const database = encodeURIComponent(config.database);
  if (config.host.startsWith('/')) return `postgres://${user}@/${database}?host=${encodeURIComponent(config.host)}&port=${config.port}`;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `postgres://${user}@${host}:${config.port}/${database}`;
}
