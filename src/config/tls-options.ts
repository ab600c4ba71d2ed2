import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError, type ConfigProblem } from '../errors/config-error.js';
import { describeFileError } from './file-access.js';
import type { PostgresConfig, SslMode } from './postgres-config.js';
import { isTlsRefusal, type TlsAttempt } from './tls-refusal.js';
import { SYSTEM_ROOT_CERT } from './tls-settings.js';

export { isTlsRefusal, type TlsAttempt } from './tls-refusal.js';

/** The value for pg's `ssl` option: `false` for plaintext, or Node.js TLS options. Frozen. */
export type TlsChoice = false | Readonly<ConnectionOptions>;

/**
 * How to connect, with libpq's meaning of `sslmode` (not node-postgres's, which verifies the
 * certificate for `require` and `verify-ca` too). Pass `first` as pg's `ssl` option; when that
 * attempt fails and {@link fallbackFor} returns a choice, open a new connection with it.
 *
 * | sslmode       | first                                  | fallback          |
 * |---------------|----------------------------------------|-------------------|
 * | `disable`     | `false`                                | none              |
 * | `allow`       | `false`                                | TLS, unverified   |
 * | `prefer`      | TLS, unverified                        | `false`           |
 * | `require`     | TLS, unverified; chain verified if a root certificate is set | none |
 * | `verify-ca`   | TLS, chain verified, host name not checked | none          |
 * | `verify-full` | TLS, chain and host name verified      | none              |
 *
 * A Unix socket host (starting with `/`) never uses TLS, whatever the mode: libpq does the same.
 */
export interface TlsPlan {
  /** The configuration's `sslmode` the plan was made for. */
  readonly sslMode: SslMode;
  /** `ssl` for the first attempt. */
  readonly first: TlsChoice;
  /** `ssl` for a second attempt after a refusal of the first (see {@link fallbackFor}); `undefined`: no second attempt. */
  readonly fallback: TlsChoice | undefined;
}

/** The settings {@link tlsPlan} needs (a {@link PostgresConfig} has them all). */
export type TlsConfig = Pick<PostgresConfig, 'host' | 'sslMode' | 'sslRootCert' | 'sslCert' | 'sslKey'>;

/**
 * Builds the {@link TlsPlan} for a configuration, reading the root certificate, client
 * certificate and key files now (call it once per pool, not per connection). In the TLS options:
 * `ca` holds the root certificate file's contents (none for `sslRootCert: "system"`, so that
 * Node.js's CA roots are used); `cert` and `key` the client's, the key being a non-enumerable
 * property so that it is never logged (pg reads it all the same); `servername` is the host
 * unless the host is an IP address (SNI takes names only). Host names, including IP addresses,
 * are checked by Node.js's `tls.checkServerIdentity` (against the certificate's DNS or IP
 * subject alternative names) in `verify-full` only.
 *
 * @throws {ConfigError} when a file cannot be read, or when `verify-ca`/`verify-full` has no root certificate.
 */
export function tlsPlan(config: TlsConfig): TlsPlan {
  const { sslMode } = config;
  if (sslMode === 'disable' || config.host.startsWith('/')) return plan(sslMode, false, undefined);
  const files = readTlsFiles(config);
  const unverified = tlsOptions(config, files, { rejectUnauthorized: false });
  const chainOnly = (): TlsChoice => tlsOptions(config, files, { rejectUnauthorized: true, checkServerIdentity: () => undefined });
  switch (sslMode) {
    case 'allow':
      return plan(sslMode, false, unverified);
    case 'prefer':
      return plan(sslMode, unverified, false);
    case 'require':
      return plan(sslMode, config.sslRootCert === undefined ? unverified : chainOnly(), undefined);
    case 'verify-ca':
      return plan(sslMode, chainOnly(), undefined);
    case 'verify-full':
      return plan(sslMode, tlsOptions(config, files, { rejectUnauthorized: true }), undefined);
  }
}

/**
 * The `ssl` choice to retry with after the first attempt of `plan` failed with `error`, or
 * `undefined` when there is nothing to retry (no fallback, or the error is not a refusal of the
 * first attempt's encryption — see {@link isTlsRefusal}):
 *
 * ```ts
 * const plan = tlsPlan(config);
 * try {
 *   await connect(plan.first);
 * } catch (error) {
 *   const retry = fallbackFor(plan, error);
 *   if (retry === undefined) throw error;
 *   await connect(retry);
 * }
 * ```
 */
export function fallbackFor(plan: TlsPlan, error: unknown): TlsChoice | undefined {
  if (plan.fallback === undefined) return undefined;
  return isTlsRefusal(error, attemptOf(plan.first)) ? plan.fallback : undefined;
}

/** Whether an `ssl` choice is a TLS or a plaintext attempt (the second argument of {@link isTlsRefusal}). */
export function attemptOf(choice: TlsChoice): TlsAttempt {
  return choice === false ? 'plaintext' : 'tls';
}

interface TlsFiles {
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
}

function readTlsFiles(config: TlsConfig): TlsFiles {
  const problems: ConfigProblem[] = [];
  const read = (field: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      problems.push({ field, message: describeFileError(path, error) });
      return undefined;
    }
  };
  const rootCert = config.sslRootCert;
  const files = {
    ca: rootCert === SYSTEM_ROOT_CERT ? undefined : read('sslRootCert', rootCert),
    cert: read('sslCert', config.sslCert),
    key: read('sslKey', config.sslKey),
  };
  if ((config.sslMode === 'verify-ca' || config.sslMode === 'verify-full') && rootCert === undefined) {
    problems.push({ field: 'sslRootCert', message: `sslmode ${config.sslMode} needs a root certificate to verify the server with` });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return files;
}

function tlsOptions(config: TlsConfig, files: TlsFiles, verification: ConnectionOptions): TlsChoice {
  const options: ConnectionOptions = { ...verification };
  if (isIP(config.host) === 0) options.servername = config.host;
  if (files.ca !== undefined && verification.rejectUnauthorized === true) options.ca = files.ca;
  if (files.cert !== undefined) options.cert = files.cert;
  if (files.key !== undefined) Object.defineProperty(options, 'key', { value: files.key, enumerable: false });
  return Object.freeze(options);
}

function plan(sslMode: SslMode, first: TlsChoice, fallback: TlsChoice | undefined): TlsPlan {
  return Object.freeze({ sslMode, first, fallback });
}
