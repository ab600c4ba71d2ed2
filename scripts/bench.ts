/**
 * Throughput of the same Kysely primary-key lookup through Kysely's PostgresDialect and through
 * ours, in one run on one server, reported as ops/s and as a ratio to PostgresDialect.
 * Runs compiled (tsc, then node) so that every contender is plain JavaScript.
 * Noisy machines make absolute numbers meaningless; compare ratios within a run.
 *
 *   npm run bench                       # embedded PostgreSQL
 *   DATABASE_URL=postgres://… npm run bench
 *   BENCH_SECONDS=5 BENCH_ROUNDS=3 BENCH_CONCURRENCY=1,16,64 npm run bench
 */
import { Kysely, PostgresDialect, type Dialect } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { createDialect, createMetrics, loadConfig, queryTiming, type QueryInterceptor } from '../src/index.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/embedded/index.js';

interface DB {
  bench_item: { id: number; name: string; value: number };
}

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,16').split(',').map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const ROWS = 10_000;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function measure(db: Kysely<DB>, concurrency: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async (seed: number): Promise<void> => {
    let id = seed;
    while (performance.now() < deadline) {
      id = (id * 7919 + 1) % ROWS;
      await db.selectFrom('bench_item').select(['id', 'name', 'value']).where('id', '=', id + 1).executeTakeFirstOrThrow();
      done += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  return done / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  let server: EmbeddedServer | undefined;
  const url = process.env.DATABASE_URL || (server = await startEmbeddedPostgres()).connectionString('postgres');
  const config = loadConfig({ DATABASE_URL: url, PGSSLMODE: 'disable' });
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query('drop table if exists bench_item');
  await setup.query('create table bench_item (id int primary key, name text not null, value double precision not null)');
  await setup.query(`insert into bench_item select i, 'item ' || i, random() from generate_series(1, ${ROWS}) i`);
  await setup.query('analyze bench_item');
  await setup.end();

  const noop: QueryInterceptor = { name: 'noop', before: () => undefined, after: () => undefined };
  const variants: Record<string, (max: number) => Dialect> = {
    'Kysely PostgresDialect': (max) =>
      new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max }), cursor: Cursor }),
    'createDialect': (max) => createDialect({ config: { ...configInput(config), maxConns: max }, env: {} }),
    'createDialect, leak detection off': (max) =>
      createDialect({ config: { ...configInput(config), maxConns: max, leakDetectionThreshold: 0 }, env: {} }),
    'createDialect + 1 interceptor': (max) =>
      createDialect({ config: { ...configInput(config), maxConns: max }, env: {}, interceptors: [noop] }),
    'createDialect, retries off': (max) => createDialect({ config: { ...configInput(config), maxConns: max }, env: {}, retry: false }),
    'createDialect + metrics (queryTiming)': (max) => {
      const metrics = createMetrics();
      return createDialect({
        config: { ...configInput(config), maxConns: max },
        env: {},
        interceptors: [queryTiming({ metrics, poolName: 'bench' })],
        observer: metrics.resilienceObserver('bench'),
      });
    },
  };

  const rows: string[] = [];
  const names = Object.keys(variants);
  for (const concurrency of concurrencies) {
    const max = Math.min(Math.max(concurrency, 1), 16);
    const dbs = names.map((name) => new Kysely<DB>({ dialect: variants[name]!(max) }));
    for (const db of dbs) await measure(db, concurrency); // warm up: connections, JIT
    const samples: number[][] = names.map(() => []);
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round so that no variant always runs first or last.
      for (let k = 0; k < names.length; k++) {
        const i = (k + round) % names.length;
        samples[i]!.push(await measure(dbs[i]!, concurrency));
      }
    }
    await Promise.all(dbs.map((db) => db.destroy()));
    const medians = samples.map(median);
    names.forEach((name, i) => {
      rows.push(`| ${concurrency} | ${name} | ${Math.round(medians[i]!)} | ${(medians[i]! / medians[0]!).toFixed(2)} |`);
    });
  }
  console.log(`primary-key lookup, median of ${rounds} rounds of ${seconds} s per cell (order rotated), pool max = min(concurrency, 16)\n`);
  console.log('| concurrency | dialect | ops/s | ratio |\n| --- | --- | --- | --- |');
  console.log(rows.join('\n'));
  await server?.stop();
}

function configInput(config: ReturnType<typeof loadConfig>) {
  return { host: config.host, port: config.port, database: config.database, user: config.user, password: config.password, sslMode: 'disable' };
}

await main();
