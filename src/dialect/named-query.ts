import pg from 'pg';

/**
 * Runs a named (prepared) statement: the same as `client.query({ name, text, values })`, without
 * node-postgres's copy of the query config object. For a config object, pg copies it with
 * `Object.getOwnPropertyDescriptors` and `Object.defineProperties` before reading it (about 2.5 µs
 * a statement, against 0.2 µs for building the `Query` from text; docs/performance.md), while a
 * text query is not copied. So the `Query` is built from the text and values, and given its name before it is
 * submitted: `Query` reads `name` only when it is submitted (to decide whether to send `Parse`).
 * The promise settles as `client.query`'s would: with the result, or with pg's error.
 */
export function queryNamed(client: pg.ClientBase, name: string, text: string, values: unknown[]): Promise<pg.QueryResult> {
  return new Promise<pg.QueryResult>((resolve, reject) => {
    const query = new pg.Query(text, values, (error: Error | undefined, result: unknown) => {
      if (error) reject(error);
      else resolve(result as pg.QueryResult);
    });
    (query as unknown as { name: string }).name = name;
    client.query(query);
  });
}
