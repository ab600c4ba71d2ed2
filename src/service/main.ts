/**
 * `npm start`: the Alert History service (docs/service.md). Starts it with this process's
 * environment and stops it gracefully on SIGTERM or SIGINT (exit status 0); a second signal exits
 * at once. A failed start prints why on stderr and exits with status 1.
 */
import { shutdownOnSignals } from './shutdown-on-signals.js';
import { startService } from './start-service.js';

// The signal handlers go first: loading embedded PostgreSQL during the start drops the SIGINT and
// SIGTERM listeners added while it loads (see embedded-database.ts), so ours must already be there.
const started = Promise.resolve().then(() => startService());
shutdownOnSignals(started, { write: (text) => process.stdout.write(text) });
started.catch((error: unknown) => {
  process.stderr.write(`alert-history service: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
