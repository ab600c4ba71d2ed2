import type { FastifyInstance } from 'fastify';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type HistoryFilters } from '../alerts/alert-types.js';
import { QueryParameterError } from '../alerts/query-parameter-error.js';
import { parseLabelMatchers } from './label-matchers.js';
import { QueryReader } from './query-reader.js';
import type { ServiceContext } from './service-context.js';
import { readTimeWindow } from './time-window.js';

/** Query parameters of `GET /history`. */
export const HISTORY_PARAMETERS: readonly string[] = Object.freeze(['status', 'alertname', 'severity', 'namespace', 'fingerprint', 'receiver', 'label', 'from', 'to', 'limit', 'cursor']);

/** Default and largest `limit` of `GET /history/top`. */
export const DEFAULT_TOP_LIMIT = 10;
/** Default `minTransitions` of `GET /history/flapping`. */
export const DEFAULT_MIN_TRANSITIONS = 4;
/** Default `bucket` of `GET /history/stats`: one hour. */
export const DEFAULT_BUCKET_MS = 3_600_000;
/** Smallest `bucket` of `GET /history/stats`: one second. */
export const MIN_BUCKET_MS = 1000;
/** Most buckets one `GET /history/stats` answers. */
export const MAX_BUCKETS = 10_000;

const WINDOW_PARAMETERS = ['window', 'from', 'to'] as const;

function historyFilters(query: QueryReader): HistoryFilters {
  const from = query.time('from');
  const to = query.time('to');
  if (from !== undefined && to !== undefined && from.getTime() > to.getTime()) throw new QueryParameterError('from', 'must not be after to');
  const filters: Record<string, unknown> = {
    status: query.oneOf('status', ['firing', 'resolved'] as const),
    alertname: query.string('alertname'),
    severity: query.string('severity'),
    namespace: query.string('namespace'),
    fingerprint: query.string('fingerprint'),
    receiver: query.string('receiver'),
    from,
    to,
  };
  const labels = parseLabelMatchers(query.list('label'));
  if (labels.length > 0) filters.labels = labels;
  return Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== undefined)) as HistoryFilters;
}

/**
 * The read endpoints: `GET /history` (filters, newest first, keyset pages), `GET
 * /history/:fingerprint` (one alert's timeline, oldest first; 404 when unknown), `GET
 * /alerts/active`, and the aggregates `GET /history/top`, `/history/flapping`, `/history/stats`
 * over a time window (`window` such as `24h`, or `from`/`to`). Every parameter problem, unknown
 * parameters included, is a `QueryParameterError` (400 naming the parameter).
 */
export function registerHistoryRoutes(app: FastifyInstance, context: ServiceContext): void {
  const { repository } = context;

  app.get('/history', async (request) => {
    const query = new QueryReader(request.query, HISTORY_PARAMETERS);
    const filters = historyFilters(query);
    const limit = query.integer('limit', { min: 1, max: MAX_PAGE_SIZE }, DEFAULT_PAGE_SIZE);
    const cursor = query.string('cursor');
    const page = await repository.history(filters, cursor === undefined ? { limit } : { limit, cursor });
    return { items: page.items, nextCursor: page.nextCursor ?? null };
  });

  app.get('/history/top', async (request) => {
    const query = new QueryReader(request.query, [...WINDOW_PARAMETERS, 'limit']);
    const window = readTimeWindow(query, context.now());
    const limit = query.integer('limit', { min: 1, max: MAX_PAGE_SIZE }, DEFAULT_TOP_LIMIT);
    return { window, items: await repository.top(window, limit) };
  });

  app.get('/history/flapping', async (request) => {
    const query = new QueryReader(request.query, [...WINDOW_PARAMETERS, 'minTransitions']);
    const window = readTimeWindow(query, context.now());
    const minTransitions = query.integer('minTransitions', { min: 1, max: 1_000_000 }, DEFAULT_MIN_TRANSITIONS);
    return { window, minTransitions, items: await repository.flapping(window, minTransitions) };
  });

  app.get('/history/stats', async (request) => {
    const query = new QueryReader(request.query, [...WINDOW_PARAMETERS, 'bucket']);
    const window = readTimeWindow(query, context.now());
    const bucketMs = query.duration('bucket') ?? DEFAULT_BUCKET_MS;
    if (bucketMs < MIN_BUCKET_MS) throw new QueryParameterError('bucket', 'must be at least 1s');
    if (Math.ceil((window.to.getTime() - window.from.getTime()) / bucketMs) > MAX_BUCKETS) {
      throw new QueryParameterError('bucket', `too small for the window: at most ${MAX_BUCKETS} buckets`);
    }
    return await repository.stats(window, bucketMs);
  });

  app.get<{ Params: { fingerprint: string } }>('/history/:fingerprint', async (request, reply) => {
    new QueryReader(request.query, []);
    const { fingerprint } = request.params;
    const events = await repository.timeline(fingerprint);
    if (events.length === 0) return reply.code(404).send({ error: 'no alert with this fingerprint', fingerprint });
    return { fingerprint, events };
  });

  app.get('/alerts/active', async (request) => {
    new QueryReader(request.query, []);
    return { items: await repository.active() };
  });
}
