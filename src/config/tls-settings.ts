import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigProblem } from '../errors/config-error.js';
import type { Candidate } from './config-sources.js';
import { isFile, unreadableFileProblem } from './file-access.js';
import { defaultRootCertPath } from './libpq-paths.js';
import type { SslMode } from './postgres-config.js';
import { quote, quotePath } from './quote.js';

/** The TLS part of the configuration, resolved and checked. */
export interface TlsSettings {
  readonly sslMode: SslMode;
  readonly sslRootCert: string | undefined;
  readonly sslCert: string | undefined;
  readonly sslKey: string | undefined;
}

/** The raw TLS inputs: the chosen `sslmode` (if any was given) and the file candidates. */
export interface TlsInputs {
  /** The parsed mode and its field name, or `undefined` when no source gave one. */
  readonly mode: { readonly value: SslMode; readonly field: string } | undefined;
  readonly rootCert: Candidate | undefined;
  readonly cert: Candidate | undefined;
  readonly key: Candidate | undefined;
}

/** `sslrootcert=system`: trust the platform's CA roots (libpq 16). */
export const SYSTEM_ROOT_CERT = 'system';

const DEFAULT_MODE: SslMode = 'prefer';
const VERIFYING: readonly SslMode[] = ['verify-ca', 'verify-full'];

/**
 * Resolves the TLS settings with libpq's rules and records what is wrong in `problems`:
 * - `sslrootcert=system` makes the default mode `verify-full`; a weaker explicit mode is a problem.
 * - Unless the mode is `disable`, every named file must be a readable plain file, and a client
 *   certificate needs its key (and a key its certificate).
 * - With `require`, `verify-ca` or `verify-full` and no root certificate named, libpq's
 *   `~/.postgresql/root.crt` is used when it exists (so `require` then verifies the chain, as in
 *   libpq); `verify-ca` and `verify-full` without any root certificate are a problem.
 * - A private key that group or others may read gets a warning (libpq refuses such a key).
 * Paths are made absolute against the current directory.
 */
export function resolveTlsSettings(
  inputs: TlsInputs,
  env: Readonly<Record<string, string | undefined>>,
  problems: ConfigProblem[],
  warn: (field: string, message: string) => void,
): TlsSettings {
  const rootCert = pathOf(inputs.rootCert);
  const system = rootCert === SYSTEM_ROOT_CERT;
  const sslMode = inputs.mode?.value ?? (system ? 'verify-full' : DEFAULT_MODE);
  if (system && sslMode !== 'verify-full' && inputs.rootCert !== undefined) {
    problems.push({
      field: inputs.rootCert.field,
      message: `"system" (the platform's CA roots) needs sslmode verify-full, as in libpq; sslmode is ${quote(sslMode)}`,
    });
  }
  const settings = { sslMode, sslRootCert: rootCert, sslCert: pathOf(inputs.cert), sslKey: pathOf(inputs.key) };
  if (sslMode === 'disable') return settings;

  for (const candidate of [system ? undefined : inputs.rootCert, inputs.cert, inputs.key]) {
    const path = pathOf(candidate);
    const problem = path === undefined ? undefined : unreadableFileProblem(path);
    if (candidate !== undefined && problem !== undefined) problems.push({ field: candidate.field, message: problem });
  }
  if (inputs.cert !== undefined && inputs.key === undefined) {
    problems.push({ field: inputs.cert.field, message: 'a client certificate needs its private key: set sslKey (sslkey, PGSSLKEY) too' });
  }
  if (inputs.key !== undefined && inputs.cert === undefined) {
    problems.push({ field: inputs.key.field, message: 'a client private key needs its certificate: set sslCert (sslcert, PGSSLCERT) too' });
  }
  if (settings.sslKey !== undefined && inputs.key !== undefined) warnIfKeyIsExposed(settings.sslKey, inputs.key.field, warn);
  if (rootCert !== undefined || sslMode === 'allow' || sslMode === 'prefer') return settings;

  const fallback = defaultRootCertPath(env);
  if (fallback !== undefined && isFile(fallback)) return { ...settings, sslRootCert: fallback };
  if (VERIFYING.includes(sslMode)) {
    problems.push({
      field: inputs.mode?.field ?? 'sslMode',
      message:
        `${sslMode} needs a root certificate to verify the server with: set sslRootCert (sslrootcert, PGSSLROOTCERT), ` +
        `or put it at ${fallback === undefined ? '~/.postgresql/root.crt (HOME is not set)' : `${quotePath(fallback)} (not found)`}`,
    });
  }
  return settings;
}

function pathOf(candidate: Candidate | undefined): string | undefined {
  if (candidate === undefined) return undefined;
  const value = String(candidate.value);
  return value === SYSTEM_ROOT_CERT ? value : resolve(value);
}

/** libpq accepts a key readable by its owner only (or also by its group when root owns it). */
function warnIfKeyIsExposed(path: string, field: string, warn: (field: string, message: string) => void): void {
  if (process.platform === 'win32') return;
  try {
    const { mode, uid } = statSync(path);
    const exposed = uid === 0 ? mode & 0o037 : mode & 0o077;
    if (exposed !== 0) {
      warn(field, `private key file ${quotePath(path)} has group or world access; libpq would refuse it (use mode 0600, or 0640 owned by root)`);
    }
  } catch {
    // Unreadable files are reported as problems already.
  }
}
