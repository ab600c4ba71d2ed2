/** One call that wires configuration, pool and dialect into a Kysely instance. */
export { createDatabase, type CreateDatabaseOptions, type Database, type DatabaseHealthOptions } from './create-database.js';
