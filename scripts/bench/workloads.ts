/**
 * The schema, the SQL and the workloads of the benchmark against peers, shared by the parent
 * (`main.ts`) and the measuring child (`run-client.ts`). No client library is imported here, so
 * that a child loads only the client it measures (its peak RSS is part of the result).
 *
 * Every client runs the very SQL text below (Kysely's clients are checked to compile to it, and
 * postgres.js's tagged templates are checked to produce it), with the same parameter values.
 */
import { isDeepStrictEqual } from 'node:util';
import { ALERTS_PER_WEBHOOK, benchWebhook, type BenchWebhook } from './ingest-workload.js';

/** Rows seeded into `bench_event`: ids 1..SEEDED_ROWS. */
export const SEEDED_ROWS = 10_000;
/** Rows the range query returns. */
export const RANGE_ROWS = 50;
/** `starts_at` of seeded row `id` is `BASE_TIME + id` minutes. Inserted rows start a year later. */
export const BASE_TIME = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const INSERT_BASE_TIME = Date.UTC(2027, 0, 1);

/** Labels of an alert, stored as `jsonb`. */
export type Labels = Readonly<Record<string, string>>;

/** A row of `bench_event` as every client must return it (node-postgres's and postgres.js's default type parsing agree). */
export interface EventRow {
  /** `bigint`: a string. */
  readonly id: string;
  readonly fingerprint: string;
  readonly status: string;
  readonly labels: Labels;
  readonly starts_at: Date;
}

/** What the insert workload writes into `bench_insert`. */
export interface NewEvent {
  readonly fingerprint: string;
  readonly status: string;
  readonly labels: Labels;
  readonly startsAt: Date;
}

/** Column order of every row returned (checked). */
export const EVENT_COLUMNS = ['id', 'fingerprint', 'status', 'labels', 'starts_at'] as const;

/** The SQL every client sends, exactly: what Kysely 0.29 compiles the builder queries of `kysely-queries.ts` to. */
export const SQL = {
  lookup: 'select "id", "fingerprint", "status", "labels", "starts_at" from "bench_event" where "id" = $1',
  insert: 'insert into "bench_insert" ("fingerprint", "status", "labels", "starts_at") values ($1, $2, $3, $4) returning "id"',
  range:
    'select "id", "fingerprint", "status", "labels", "starts_at" from "bench_event" where "starts_at" >= $1 order by "starts_at" limit $2',
  sleep: 'select pg_sleep($1)',
} as const;

/** DDL and seed, run once by the parent. `bench_insert` is truncated before every insert measurement. */
export const SETUP_SQL = [
  'drop table if exists bench_event, bench_insert',
  `create table bench_event (
     id bigint primary key,
     fingerprint text not null,
     status text not null,
     labels jsonb not null,
     starts_at timestamptz not null
   )`,
  'create index bench_event_starts_at on bench_event (starts_at)',
  `insert into bench_event (id, fingerprint, status, labels, starts_at)
   select i,
          'fp-' || lpad(to_hex(i), 8, '0'),
          case when i % 5 = 0 then 'resolved' else 'firing' end,
          jsonb_build_object('alertname', 'Alert' || (i % 97), 'severity', (array['critical', 'warning', 'info'])[i % 3 + 1],
                             'instance', 'host-' || (i % 53) || '.example', 'job', 'node'),
          timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute'
     from generate_series(1, ${SEEDED_ROWS}) i`,
  `create table bench_insert (
     id bigint generated always as identity primary key,
     fingerprint text not null,
     status text not null,
     labels jsonb not null,
     starts_at timestamptz not null
   )`,
  'create index bench_insert_starts_at on bench_insert (starts_at)',
  'vacuum analyze bench_event',
  'vacuum analyze bench_insert',
] as const;

export const TEARDOWN_SQL = 'drop table if exists bench_event, bench_insert';

/**
 * The parent's check of what an insert measurement wrote: every row must hold the labels object
 * the client was given (a jsonb object whose `fingerprint` is the row's), not e.g. a JSON string.
 */
export const INSERT_AUDIT_SQL = `select count(*)::int as total,
       count(*) filter (where jsonb_typeof(labels) <> 'object'
                           or labels ->> 'fingerprint' is distinct from fingerprint
                           or labels ->> 'alertname' is distinct from 'BenchInsert')::int as bad,
       (select labels::text from bench_insert order by id limit 1) as sample
  from bench_insert`;

/** The row seeded with that id. */
export function expectedEvent(id: number): EventRow {
  return {
    id: String(id),
    fingerprint: `fp-${id.toString(16).padStart(8, '0')}`,
    status: id % 5 === 0 ? 'resolved' : 'firing',
    labels: {
      alertname: `Alert${id % 97}`,
      severity: ['critical', 'warning', 'info'][id % 3]!,
      instance: `host-${id % 53}.example`,
      job: 'node',
    },
    starts_at: new Date(BASE_TIME + id * MINUTE),
  };
}

/** What each client offers the workloads: one method per workload, returning rows as the client returns them. */
export interface BenchClient {
  lookup(id: number): Promise<readonly unknown[]>;
  /** Returns the rows of `returning "id"`. */
  insert(event: NewEvent): Promise<readonly unknown[]>;
  range(from: Date, limit: number): Promise<readonly unknown[]>;
  /** The alert-ingest transaction; returns one row: the counts (`IngestCounts`). */
  ingest(webhook: BenchWebhook): Promise<readonly unknown[]>;
  /** `select pg_sleep($1)`: the slow statement of the head-of-line workload. */
  sleep(seconds: number): Promise<readonly unknown[]>;
  /** Counters the client keeps about itself (e.g. statement cache hits), reported with the result. */
  stats?(): Promise<Readonly<Record<string, number>>>;
  close(): Promise<void>;
}

/** One operation of a workload: how to run it and how to tell whether its result is right. */
export interface Operation {
  run(client: BenchClient): Promise<readonly unknown[]>;
  /** Undefined when right; otherwise what is wrong. */
  verify(rows: readonly unknown[]): string | undefined;
  /** The slow statement of the head-of-line workload: left out of its `fastP99`. */
  readonly slow?: boolean;
}

/** A workload: the operation a worker runs for its `n`th call. */
export interface Workload {
  readonly name: WorkloadName;
  readonly title: string;
  operation(worker: number, n: number): Operation;
}

export type WorkloadName = 'lookup' | 'insert' | 'range' | 'ingest' | 'headofline';

/** A deterministic pseudo-random integer in [0, modulo) for worker `worker`'s `n`th call. */
function spread(worker: number, n: number, modulo: number): number {
  // Knuth's multiplicative hash of a per-call counter: well spread, no state, the same for every client.
  const x = Math.imul((worker + 1) * 1_000_003 + n, 2_654_435_761) >>> 0;
  return x % modulo;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return text === undefined ? String(value) : text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

/** Why `row` is not exactly `expected` (same columns in the same order, same JavaScript types and values), or undefined. */
export function rowMismatch(row: unknown, expected: EventRow): string | undefined {
  if (typeof row !== 'object' || row === null) return `a row is ${describe(row)}`;
  const columns = Object.keys(row);
  if (!isDeepStrictEqual(columns, [...EVENT_COLUMNS])) return `columns ${describe(columns)}, expected ${describe(EVENT_COLUMNS)}`;
  const actual = row as Record<string, unknown>;
  if (!(actual.starts_at instanceof Date)) return `starts_at is ${describe(actual.starts_at)} (${typeof actual.starts_at}), expected a Date`;
  const comparable = { ...actual, starts_at: actual.starts_at.toISOString() };
  const wanted = { ...expected, starts_at: expected.starts_at.toISOString() };
  // Plain-object comparison: a prototype-less row (or a class instance) with the same fields counts as the same row.
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(comparable)), wanted) || typeof actual.id !== 'string') {
    return `row ${describe(comparable)}, expected ${describe(wanted)}`;
  }
  return undefined;
}

const lookup: Workload = {
  name: 'lookup',
  title: 'primary-key lookup',
  operation(worker, n) {
    const id = spread(worker, n, SEEDED_ROWS) + 1;
    return {
      run: (client) => client.lookup(id),
      verify(rows) {
        if (rows.length !== 1) return `lookup of id ${id} returned ${rows.length} rows`;
        const wrong = rowMismatch(rows[0], expectedEvent(id));
        return wrong === undefined ? undefined : `lookup of id ${id}: ${wrong}`;
      },
    };
  },
};

/** Ids the insert workload has seen returned in this process: a returned id must be new. */
const insertedIds = new Set<string>();

const insert: Workload = {
  name: 'insert',
  title: 'one-row insert (jsonb) returning id',
  operation(worker, n) {
    const fingerprint = `ins-${worker}-${n}`;
    const event: NewEvent = {
      fingerprint,
      status: n % 5 === 0 ? 'resolved' : 'firing',
      labels: { alertname: 'BenchInsert', fingerprint, severity: 'warning', instance: `host-${worker}.example`, job: 'node' },
      startsAt: new Date(INSERT_BASE_TIME + spread(worker, n, 1_000_000) * 1000),
    };
    return {
      run: (client) => client.insert(event),
      verify(rows) {
        if (rows.length !== 1) return `insert returned ${rows.length} rows`;
        const row = rows[0];
        if (typeof row !== 'object' || row === null || !isDeepStrictEqual(Object.keys(row), ['id'])) return `insert returned ${describe(row)}`;
        const id = (row as { id: unknown }).id;
        if (typeof id !== 'string' || !/^[1-9][0-9]*$/.test(id)) return `insert returned id ${describe(id)}, expected a bigint as a string`;
        if (insertedIds.has(id)) return `insert returned id ${id} twice`;
        insertedIds.add(id);
        return undefined;
      },
    };
  },
};

const range: Workload = {
  name: 'range',
  title: `${RANGE_ROWS}-row range by time`,
  operation(worker, n) {
    const first = spread(worker, n, SEEDED_ROWS - RANGE_ROWS) + 1;
    const from = new Date(BASE_TIME + first * MINUTE);
    return {
      run: (client) => client.range(from, RANGE_ROWS),
      verify(rows) {
        if (rows.length !== RANGE_ROWS) return `range from ${from.toISOString()} returned ${rows.length} rows, expected ${RANGE_ROWS}`;
        for (let i = 0; i < rows.length; i++) {
          const wrong = rowMismatch(rows[i], expectedEvent(first + i));
          if (wrong !== undefined) return `range from ${from.toISOString()}, row ${i} (in starts_at order): ${wrong}`;
        }
        return undefined;
      },
    };
  },
};

const expectedCounts = { newEvents: ALERTS_PER_WEBHOOK, duplicates: 0, alertsTouched: ALERTS_PER_WEBHOOK };

const ingest: Workload = {
  name: 'ingest',
  title: `alert-ingest transaction (${ALERTS_PER_WEBHOOK} new alerts per webhook)`,
  operation(worker, n) {
    const webhook = benchWebhook(worker, n);
    return {
      run: (client) => client.ingest(webhook),
      verify(rows) {
        if (rows.length !== 1 || !isDeepStrictEqual({ ...(rows[0] as object) }, expectedCounts)) {
          return `ingest of ${webhook.groupKey} returned ${describe(rows)}, expected ${describe([expectedCounts])}`;
        }
        return undefined;
      },
    };
  },
};

/** One call in this many of the head-of-line workload is the slow statement. */
export const SLOW_EVERY = 100;
/** How long the slow statement of the head-of-line workload sleeps on the server. */
export const SLOW_SECONDS = 0.5;

/**
 * Head-of-line blocking: the lookups, with 1 call in {@link SLOW_EVERY} a `pg_sleep(0.5)`. What
 * counts is the lookups' p99 (`fastP99`): on exclusive connections a slow statement holds one
 * connection; pipelined on a shared one, the lookups queued behind it wait for it.
 */
const headOfLine: Workload = {
  name: 'headofline',
  title: `lookups with 1 call in ${SLOW_EVERY} a pg_sleep(${SLOW_SECONDS}) (p99 of the lookups)`,
  operation(worker, n) {
    // a different hash from the lookup's id, so that the workers' slow calls do not line up
    if (spread(worker + 7919, n, SLOW_EVERY) !== 0) return lookup.operation(worker, n);
    return {
      slow: true,
      run: (client) => client.sleep(SLOW_SECONDS),
      verify: (rows) => (rows.length === 1 ? undefined : `pg_sleep returned ${rows.length} rows`),
    };
  },
};

/** The workloads, in table order. */
export const WORKLOADS: Readonly<Record<WorkloadName, Workload>> = { lookup, insert, range, ingest, headofline: headOfLine };
