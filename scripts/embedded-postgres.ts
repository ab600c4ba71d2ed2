/**
 * Development tool: starts a private embedded PostgreSQL, prints how to reach it, and keeps it
 * running until Ctrl-C (the data directory is removed on exit).
 *
 *   npm run db:embedded
 */
import { startEmbeddedPostgres } from '../src/embedded/embedded-server.js';

const server = await startEmbeddedPostgres();
process.stdout.write(
  `embedded PostgreSQL listening on ${server.host}:${server.port}\n` +
    `export DATABASE_URL='${server.connectionString('postgres')}'\n` +
    'press Ctrl-C to stop (its data is deleted)\n',
);
const stop = (): void => {
  void server.stop().finally(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
