import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../schema/database.js';
import { EVENT_COLUMNS, STATE_COLUMNS, toAlertEvent, toAlertState } from './alert-rows.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type AlertEvent, type AlertState, type HistoryFilters, type Page, type PageRequest } from './alert-types.js';
import { decodeHistoryCursor, encodeHistoryCursor, type HistoryCursor } from './history-cursor.js';
import { checkMatchers, matcherConditions, type CheckedMatchers, type RegexCheck } from './label-matchers.js';
import { QueryParameterError } from './query-parameter-error.js';
import { dateParameter, integerParameter, statusParameter, textParameter } from './query-parameters.js';
import { readTransaction, type ReadSettings } from './read-transaction.js';

/** SQLSTATE of an invalid regular expression (`invalid_regular_expression`). */
const INVALID_REGEX = '2201B';

/** `starts_at` exactly, in UTC to the microsecond, the form a cursor keeps. */
const CURSOR_STARTS_AT = sql<string>`to_char(starts_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function checkFilters(filters: HistoryFilters): { readonly plain: HistoryFilters; readonly matchers: CheckedMatchers } {
  if (typeof filters !== 'object' || filters === null) throw new QueryParameterError('filters', 'must be an object');
  const plain: {
    -readonly [K in keyof HistoryFilters]: HistoryFilters[K];
  } = {};
  if (filters.status !== undefined) plain.status = statusParameter('status', filters.status);
  for (const key of ['alertname', 'severity', 'namespace', 'fingerprint', 'receiver'] as const) {
    if (filters[key] !== undefined) plain[key] = textParameter(key, filters[key]);
  }
  if (filters.from !== undefined) plain.from = dateParameter('from', filters.from);
  if (filters.to !== undefined) plain.to = dateParameter('to', filters.to);
  if (plain.from !== undefined && plain.to !== undefined && plain.from.getTime() > plain.to.getTime()) {
    throw new QueryParameterError('from', 'must not be after to');
  }
  const labels: unknown = filters.labels ?? [];
  if (!Array.isArray(labels)) throw new QueryParameterError('labels', 'must be an array of label matchers');
  // severity and namespace are label equalities: they join the matchers' containment document
  const named = (['severity', 'namespace'] as const).flatMap((name) => (plain[name] === undefined ? [] : [{ name, op: '=', value: plain[name] }]));
  const matchers = checkMatchers([...(labels as unknown[]), ...named], (index) => (index < labels.length ? `labels[${index}]` : named[index - labels.length]?.name ?? 'labels'));
  return { plain, matchers };
}

/**
 * Checks the regular expressions with the server (`'' ~ pattern`), all in one statement, inside
 * the caller's transaction; a failure there is sorted out by {@link findInvalidRegex}.
 */
async function checkRegexes(trx: Transaction<DB>, regexes: readonly RegexCheck[]): Promise<void> {
  if (regexes.length === 0) return;
  const tests = regexes.flatMap((regex) => [sql`'' ~ ${regex.raw}`, sql`'' ~ ${regex.anchored}`]);
  await sql`select ${sql.join(tests)}`.execute(trx);
}

/** Which matcher's regular expression the server refuses, one statement each, as a typed error. */
async function findInvalidRegex(db: Kysely<DB>, regexes: readonly RegexCheck[]): Promise<QueryParameterError | undefined> {
  for (const regex of regexes) {
    try {
      // the pattern alone must be valid too: `a)|(b` is only valid once wrapped, and would escape the anchors
      await sql`select '' ~ ${regex.raw}, '' ~ ${regex.anchored}`.execute(db);
    } catch (error) {
      if ((error as { code?: unknown }).code !== INVALID_REGEX) throw error;
      const message = error instanceof Error ? error.message : 'invalid regular expression';
      return new QueryParameterError(regex.parameter, message, error);
    }
  }
  return undefined;
}

/**
 * Runs read work that uses the matchers' regular expressions: on the server's "invalid regular
 * expression", names the matcher with a {@link QueryParameterError}.
 */
export async function withRegexes<T>(db: Kysely<DB>, settings: ReadSettings, regexes: readonly RegexCheck[], work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  try {
    return await readTransaction(db, settings, async (trx) => {
      await checkRegexes(trx, regexes);
      return work(trx);
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === INVALID_REGEX) {
      const named = await findInvalidRegex(db, regexes);
      if (named !== undefined) throw named;
    }
    throw error;
  }
}

/**
 * Events matching `filters`, newest first by `(starts_at, id)`, one page: keyset pagination (the
 * cursor holds the last row's key, exact to the microsecond), so pages stay consistent while
 * events are inserted: an event appears at most once across pages, and every event that existed
 * when the first page was read appears. See {@link AlertRepository.history}.
 * @throws QueryParameterError naming the parameter (`limit`, `cursor`, `labels[i]`, `from`…)
 */
export async function queryHistory(db: Kysely<DB>, settings: ReadSettings, filters: HistoryFilters = {}, page: PageRequest = {}): Promise<Page<AlertEvent>> {
  if (typeof page !== 'object' || page === null) throw new QueryParameterError('page', 'must be an object { limit, cursor }');
  const limit = integerParameter('limit', page.limit, 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE);
  const cursor: HistoryCursor | undefined = page.cursor === undefined ? undefined : decodeHistoryCursor(page.cursor);
  const { plain, matchers } = checkFilters(filters);
  const labelConditions = matcherConditions(matchers);

  const rows = await withRegexes(db, settings, matchers.regexes, (trx) => {
    let query = trx
      .selectFrom('alert_events')
      .select([...EVENT_COLUMNS, CURSOR_STARTS_AT.as('cursor_starts_at')])
      .orderBy('starts_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (plain.status !== undefined) query = query.where('status', '=', plain.status);
    if (plain.alertname !== undefined) query = query.where('alertname', '=', plain.alertname);
    if (plain.fingerprint !== undefined) query = query.where('fingerprint', '=', plain.fingerprint);
    if (plain.receiver !== undefined) query = query.where('receiver', '=', plain.receiver);
    if (plain.from !== undefined) query = query.where('starts_at', '>=', plain.from);
    if (plain.to !== undefined) query = query.where('starts_at', '<', plain.to);
    if (labelConditions.length > 0) query = query.where((eb) => eb.and(labelConditions));
    if (cursor !== undefined) {
      query = query.where((eb) =>
        eb(eb.refTuple('starts_at', 'id'), '<', eb.tuple(sql<Date>`${cursor.startsAt}::timestamptz`, sql<string>`${cursor.id}::bigint`)),
      );
    }
    return query.execute();
  });

  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const nextCursor = rows.length > limit && last !== undefined ? encodeHistoryCursor({ startsAt: last.cursor_starts_at, id: last.id }) : undefined;
  return { items: items.map(toAlertEvent), nextCursor };
}

/** Every event of one alert, oldest first (`starts_at`, firing before resolved, then `id`). */
export async function queryTimeline(db: Kysely<DB>, settings: ReadSettings, fingerprint: string): Promise<readonly AlertEvent[]> {
  const checked = textParameter('fingerprint', fingerprint);
  const rows = await readTransaction(db, settings, (trx) =>
    trx
      .selectFrom('alert_events')
      .select(EVENT_COLUMNS)
      .where('fingerprint', '=', checked)
      .orderBy('starts_at', 'asc')
      .orderBy('status', 'asc')
      .orderBy('id', 'asc')
      .execute(),
  );
  return rows.map(toAlertEvent);
}

/** Alerts whose current state is firing, newest first (`starts_at`, then fingerprint). */
export async function queryActive(db: Kysely<DB>, settings: ReadSettings): Promise<readonly AlertState[]> {
  const rows = await readTransaction(db, settings, (trx) =>
    trx.selectFrom('alerts').select(STATE_COLUMNS).where('status', '=', 'firing').orderBy('starts_at', 'desc').orderBy('fingerprint', 'asc').execute(),
  );
  return rows.map(toAlertState);
}
