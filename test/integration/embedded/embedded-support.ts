import pg from 'pg';
import type { EmbeddedServer } from '../../../src/embedded/embedded-server.js';

/** Runs `sql` on a connection of its own to the server's `postgres` database. */
export async function queryEmbedded<Row extends pg.QueryResultRow>(server: EmbeddedServer, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: server.connectionString() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}
