/** One call that wires configuration, pool and dialect into a Kysely instance. */
export { createDatabase, type CreateDatabaseOptions, type Database } from './create-database.js';
