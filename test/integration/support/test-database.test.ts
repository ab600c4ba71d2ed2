import { expect } from 'chai';
import pg from 'pg';
import { createTestDatabase } from '../../support/test-database.js';
import { testServer } from '../../support/test-server.js';

describe('test support', () => {
  it('gives each suite an empty database of its own that can be dropped', async () => {
    const a = await createTestDatabase('support a');
    const b = await createTestDatabase('support a');
    expect(a.database).to.not.equal(b.database);
    const client = new pg.Client({ connectionString: a.url });
    await client.connect();
    const { rows } = await client.query<{ db: string; tables: string }>(
      "select current_database() as db, (select count(*) from pg_tables where schemaname = 'public') as tables",
    );
    await client.end();
    expect(rows[0]).to.deep.equal({ db: a.database, tables: '0' });
    await a.drop();
    await b.drop();
    const admin = new pg.Client({ connectionString: testServer().adminUrl });
    await admin.connect();
    const left = await admin.query('select 1 from pg_database where datname = any($1)', [[a.database, b.database]]);
    await admin.end();
    expect(left.rowCount).to.equal(0);
  });
});
