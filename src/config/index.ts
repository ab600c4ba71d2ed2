/**
 * Configuration: environment, connection URL and secrets → a validated, frozen
 * {@link PostgresConfig}; and the TLS plan that gives `sslmode` its libpq meaning.
 */
export { loadConfig, type ConfigEnvironment, type ConfigWarning, type LoadConfigOptions } from './load-config.js';
export { CONFIG_DEFAULTS } from './config-defaults.js';
export { isLoadedConfig } from './frozen-config.js';
export { parseDuration, MAX_DURATION_MS, type DurationParseResult } from './duration.js';
export { SSL_MODES, type DurationInput, type PostgresConfig, type PostgresConfigInput, type SslMode } from './postgres-config.js';
export {
  attemptOf,
  fallbackFor,
  isTlsRefusal,
  tlsPlan,
  type TlsAttempt,
  type TlsChoice,
  type TlsConfig,
  type TlsPlan,
} from './tls-options.js';
export { ConfigError, type ConfigProblem } from '../errors/config-error.js';
