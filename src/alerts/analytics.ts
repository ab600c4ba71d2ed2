import { sql, type Kysely } from 'kysely';
import type { DB, Json } from '../schema/database.js';
import { stringMap } from './alert-rows.js';
import type { AlertStats, AlertStatus, FlappingAlert, StatsBucket, TimeWindow, TopAlert } from './alert-types.js';
import { QueryParameterError } from './query-parameter-error.js';
import { integerParameter, windowParameter } from './query-parameters.js';
import { readTransaction, type ReadSettings } from './read-transaction.js';

/** Default number of alerts {@link AlertRepository.top} answers. */
export const DEFAULT_TOP_LIMIT = 10;
/** Largest `limit` {@link AlertRepository.top} accepts. */
export const MAX_TOP_LIMIT = 1000;
/** Default least number of state changes {@link AlertRepository.flapping} reports (two fire/resolve cycles). */
export const DEFAULT_MIN_TRANSITIONS = 4;
/** Most buckets one {@link AlertRepository.stats} answer may have. */
export const MAX_STATS_BUCKETS = 10_000;
/** Widest bucket accepted (366 days). */
const MAX_BUCKET_MS = 366 * 24 * 3_600_000;
const HOUR_MS = 3_600_000;
/** Key of the counts of events without a `severity` or `namespace` label. */
const NONE = '(none)';

/**
 * When an event happened: the time its state was reached, `starts_at` for a firing event and
 * `ends_at` for a resolved one (validated not to be before `starts_at`). Flapping and stats count
 * events whose time falls in the window, so a resolution counts in the hour it happened.
 */
const EVENT_TIME = sql<Date>`(case when status = 'resolved' then coalesce(ends_at, starts_at) else starts_at end)`;

/** The newest labels of the group (labels of one fingerprint are the same in every event). */
const NEWEST_LABELS = sql<Json>`(array_agg(labels order by starts_at desc, id desc))[1]`;

function alertnameOf(labels: Readonly<Record<string, string>>): string | null {
  return Object.hasOwn(labels, 'alertname') ? (labels.alertname ?? null) : null;
}

/**
 * The noisiest alerts of `window`: firing events with `starts_at` in it (each one a firing
 * episode), per fingerprint, most first, then by fingerprint.
 * @throws QueryParameterError naming `window` or `limit`
 */
export async function queryTop(db: Kysely<DB>, settings: ReadSettings, window: TimeWindow, limit?: number): Promise<readonly TopAlert[]> {
  const { from, to } = windowParameter('window', window);
  const checkedLimit = integerParameter('limit', limit, 1, MAX_TOP_LIMIT, DEFAULT_TOP_LIMIT);
  const rows = await readTransaction(db, settings, (trx) =>
    trx
      .selectFrom('alert_events')
      .select((eb) => ['fingerprint', eb.fn.countAll<string>().as('episodes'), NEWEST_LABELS.as('labels')])
      .where('status', '=', 'firing')
      .where('starts_at', '>=', from)
      .where('starts_at', '<', to)
      .groupBy('fingerprint')
      .orderBy('episodes', 'desc')
      .orderBy('fingerprint', 'asc')
      .limit(checkedLimit)
      .execute(),
  );
  return rows.map((row) => {
    const labels = stringMap(row.labels);
    return { fingerprint: row.fingerprint, alertname: alertnameOf(labels), labels, firingEpisodes: Number(row.episodes) };
  });
}

/**
 * Alerts with at least `minTransitions` events (state changes) whose time (see {@link EVENT_TIME})
 * falls in `window`; `transitionsPerHour` is that count over the window's length in hours. Most
 * transitions first, then by fingerprint.
 * @throws QueryParameterError naming `window` (invalid, or empty: never a division by zero) or `minTransitions`
 */
export async function queryFlapping(db: Kysely<DB>, settings: ReadSettings, window: TimeWindow, minTransitions?: number): Promise<readonly FlappingAlert[]> {
  const { from, to } = windowParameter('window', window);
  const least = integerParameter('minTransitions', minTransitions, 1, Number.MAX_SAFE_INTEGER, DEFAULT_MIN_TRANSITIONS);
  const hours = (to.getTime() - from.getTime()) / HOUR_MS;
  const rows = await readTransaction(db, settings, (trx) =>
    trx
      .selectFrom('alert_events')
      .select((eb) => ['fingerprint', eb.fn.countAll<string>().as('transitions'), NEWEST_LABELS.as('labels')])
      // every event in the window started before its end: the starts_at index bounds the scan
      .where('starts_at', '<', to)
      .where(EVENT_TIME, '>=', from)
      .where(EVENT_TIME, '<', to)
      .groupBy('fingerprint')
      .having((eb) => eb.fn.countAll(), '>=', least)
      .orderBy('transitions', 'desc')
      .orderBy('fingerprint', 'asc')
      .execute(),
  );
  return rows.map((row) => {
    const labels = stringMap(row.labels);
    const transitions = Number(row.transitions);
    return { fingerprint: row.fingerprint, alertname: alertnameOf(labels), labels, transitions, transitionsPerHour: transitions / hours };
  });
}

interface GroupedCount {
  readonly bucket: Date;
  readonly status: AlertStatus | null;
  readonly severity: string | null;
  readonly namespace: string | null;
  readonly by_status: number;
  readonly by_severity: number;
  readonly by_namespace: number;
  readonly n: number;
}

/**
 * Counts per bucket of `bucketMs` from `window.from` (`date_bin`), by status, `severity` label and
 * `namespace` label (`(none)` without it), of the events whose time (see {@link EVENT_TIME}) falls
 * in the window; every bucket is listed, empty ones too. The mean and median (`percentile_cont(0.5)`)
 * time to resolve, in seconds, over the resolved events whose `ends_at` falls in the window.
 * @throws QueryParameterError naming `window` or `bucketMs` (not a positive integer, or more than {@link MAX_STATS_BUCKETS} buckets)
 */
export async function queryStats(db: Kysely<DB>, settings: ReadSettings, window: TimeWindow, bucketMs: number): Promise<AlertStats> {
  const { from, to } = windowParameter('window', window);
  if (bucketMs === undefined) throw new QueryParameterError('bucketMs', 'required');
  const stride = integerParameter('bucketMs', bucketMs, 1, MAX_BUCKET_MS, 1);
  const spanMs = to.getTime() - from.getTime();
  const bucketCount = Math.ceil(spanMs / stride);
  if (bucketCount > MAX_STATS_BUCKETS) {
    throw new QueryParameterError('bucketMs', `the window would have ${bucketCount} buckets; at most ${MAX_STATS_BUCKETS} (use wider buckets or a shorter window)`);
  }

  const { counts, resolve } = await readTransaction(db, settings, async (trx) => {
    // GROUPING SETS: the builder has no form for it
    const grouped = await sql<GroupedCount>`
      with e as (
        select date_bin(${stride}::bigint * interval '1 millisecond', ${EVENT_TIME}, ${from}::timestamptz) as bucket,
               status, labels ->> 'severity' as severity, labels ->> 'namespace' as namespace
          from alert_events
         where starts_at < ${to} and ${EVENT_TIME} >= ${from} and ${EVENT_TIME} < ${to}
      )
      select bucket, status, severity, namespace,
             grouping(status) as by_status, grouping(severity) as by_severity, grouping(namespace) as by_namespace,
             count(*)::integer as n
        from e
       group by grouping sets ((bucket, status), (bucket, severity), (bucket, namespace))`.execute(trx);
    const seconds = sql<number>`extract(epoch from (ends_at - starts_at))::float8`;
    const times = await trx
      .selectFrom('alert_events')
      .select([sql<number | null>`avg(${seconds})`.as('mean'), sql<number | null>`percentile_cont(0.5) within group (order by ${seconds})`.as('median')])
      .where('status', '=', 'resolved')
      .where('ends_at', 'is not', null)
      .where('ends_at', '>=', from)
      .where('ends_at', '<', to)
      .executeTakeFirstOrThrow();
    return { counts: grouped.rows, resolve: times };
  });

  const buckets: { start: Date; byStatus: Record<AlertStatus, number>; bySeverity: Record<string, number>; byNamespace: Record<string, number> }[] = [];
  for (let index = 0; index < bucketCount; index += 1) {
    buckets.push({ start: new Date(from.getTime() + index * stride), byStatus: { firing: 0, resolved: 0 }, bySeverity: {}, byNamespace: {} });
  }
  for (const row of counts) {
    const bucket = buckets[Math.round((new Date(row.bucket).getTime() - from.getTime()) / stride)];
    if (bucket === undefined) continue;
    // grouping(x) = 0: the row is of the grouping set that has x
    if (Number(row.by_status) === 0 && row.status !== null) bucket.byStatus[row.status] += Number(row.n);
    if (Number(row.by_severity) === 0) addCount(bucket.bySeverity, row.severity ?? NONE, Number(row.n));
    if (Number(row.by_namespace) === 0) addCount(bucket.byNamespace, row.namespace ?? NONE, Number(row.n));
  }
  return {
    window: { from, to },
    bucketMs: stride,
    buckets: buckets satisfies readonly StatsBucket[],
    meanTimeToResolveSeconds: resolve.mean === null ? null : Number(resolve.mean),
    medianTimeToResolveSeconds: resolve.median === null ? null : Number(resolve.median),
  };
}

function addCount(counts: Record<string, number>, key: string, n: number): void {
  Object.defineProperty(counts, key, { value: (Object.hasOwn(counts, key) ? (counts[key] ?? 0) : 0) + n, enumerable: true, writable: true, configurable: true });
}
